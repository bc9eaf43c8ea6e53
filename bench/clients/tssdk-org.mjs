// The answer contracts at organization scale through the official
// TypeScript SDK client: the stdio binary (first argument) over 300
// accounts of the fakeserver (second argument), a DescribeInstances script:
// the whole tool result within 96 KiB, every account named, the accounts
// without instances one group, and a re-projection through get_result.
// Run by bench/claudecode.sh.
import { connectOrg } from "./org.mjs";

const { client, ids, close } = await connectOrg(process.argv[2], process.argv[3], { accounts: 300, name: "org300" });
const code = "resp = await call_boto3(service_name='ec2', operation_name='DescribeInstances')\nresp";
const res = await client.callTool({ name: "query_all", arguments: { tool_name: "aws___run_script", arguments: { code } } }, undefined, { timeout: 120000 });
const whole = JSON.stringify(res).length;
const text = res.content.find((c) => c.type === "text").text;
const named = ids.filter((a) => text.includes(a.id)).length;
const s = res.structuredContent;
console.log(`300 accounts: whole result ${whole} characters (${(whole / 1024).toFixed(1)} KiB), text ${text.length}, named ${named}/300, groups ${s.groups?.length ?? 0} (largest ${Math.max(0, ...(s.groups ?? []).map((g) => g.count))}), omitted ${s.summary.omitted}, result_id ${s.summary.result_id}`);
const again = await client.callTool({ name: "get_result", arguments: { result_id: s.summary.result_id, jmespath: "length(Reservations[].Instances[])" } });
const counts = again.structuredContent;
if (whole > 96 * 1024 || named !== 300) process.exitCode = 1;
console.log(`re-projection: ${counts.summary.succeeded} of ${counts.summary.total} answered, text ${again.content[0].text.length} characters, valid against the schema`);
await close();
