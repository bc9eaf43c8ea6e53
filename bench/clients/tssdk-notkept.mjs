// Answers a small result store could not keep, through the official
// TypeScript SDK client: the stdio binary (first argument) with a 1 MiB
// store over 300 accounts of the fakeserver (second argument) whose scripts
// answer 16 KiB each. Every item is valid against the output schema; an
// answer left out is either readable with get_result or says not_kept, and
// get_result of a not_kept one says why. Run by bench/claudecode.sh.
import { connectOrg } from "./org.mjs";

const { client, close } = await connectOrg(process.argv[2], process.argv[3],
  { accounts: 300, fakeArgs: ["-payload", "16384"], env: { AWS_MCP_RESULT_STORE_BYTES: "1MiB" }, name: "notkept" });
const code = "resp = await call_boto3(service_name='s3', operation_name='ListBuckets')\nresp";
const res = await client.callTool({ name: "query_all", arguments: { tool_name: "aws___run_script", arguments: { code } } }, undefined, { timeout: 120000 });
const s = res.structuredContent;
const text = res.content.find((c) => c.type === "text").text;
const readable = s.results.filter((i) => i.data_omitted && !i.error_code);
const lost = s.results.filter((i) => i.error_code === "not_kept");
console.log(`1 MiB store, 300 × 16 KiB: text ${text.length} characters, ${s.results.length} items, ${readable.length} left out and readable, ${lost.length} not_kept, valid against the schema`);
const one = await client.callTool({ name: "get_result", arguments: { result_id: s.summary.result_id, account_id: readable[0].account_id } });
const gone = await client.callTool({ name: "get_result", arguments: { result_id: s.summary.result_id, account_id: lost[0].account_id } });
console.log(`get_result of a readable one: ${one.isError ? "error" : "answered"}; of a not_kept one: ${gone.isError ? "error" : "answered"}: ${gone.content[0].text}`);
if (s.results.length !== 300 || text.length > 32 * 1024 || one.isError || !gone.isError || !s.note.includes("not_kept")) process.exitCode = 1;
await close();
