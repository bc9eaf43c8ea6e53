// Checks our answers through the official TypeScript SDK client, which
// validates every structuredContent against the tool's outputSchema: it
// runs `demo --serve` (the binary given as the first argument) over stdio
// and calls each tool whose answer we shape. Run by bench/claudecode.sh.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const bin = process.argv[2];
const transport = new StdioClientTransport({ command: bin, args: ["demo", "--serve"], env: { ...process.env, AWS_MCP_LOG_LEVEL: "warn" }, stderr: "ignore" });
const client = new Client({ name: "tssdk-check", version: "1" });
await client.connect(transport);
await client.listTools(); // the client caches the output schemas it validates against

const listBuckets = "resp = await call_boto3(service_name='s3', operation_name='ListBuckets')\nresp";
const describe = "resp = await call_boto3(service_name='ec2', operation_name='DescribeInstances')\nresp";
const checks = [
  ["query_all ListBuckets", "query_all", { tool_name: "aws___run_script", arguments: { code: listBuckets } }],
  ["query_all DescribeInstances × 3 regions", "query_all", { tool_name: "aws___run_script", arguments: { code: describe }, regions: ["us-east-1", "eu-west-1", "ap-southeast-2"] }],
  ["query_all, jmespath", "query_all", { tool_name: "aws___run_script", arguments: { code: describe }, jmespath: "Reservations[].Instances[].InstanceId" }],
  ["query", "query", { account_id: "410151234567", tool_name: "aws___run_script", arguments: { code: listBuckets } }],
];
let failed = 0, resultId = "";
for (const [label, name, args] of checks) {
  try {
    const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 120000 });
    const text = res.content.find((c) => c.type === "text")?.text ?? "";
    const same = JSON.stringify(JSON.parse(text)) === JSON.stringify(res.structuredContent);
    const links = res.content.filter((c) => c.type === "resource_link").length;
    resultId ||= res.structuredContent?.summary?.result_id ?? "";
    console.log(`${label}: valid against the output schema, ${JSON.stringify(res.structuredContent).length} characters, text the same JSON: ${same}, links: ${links}`);
    if (!same) failed++;
  } catch (e) {
    console.log(`${label}: FAILED: ${e}`);
    failed++;
  }
}
for (const [label, args] of [["get_result, re-projected", { result_id: resultId, jmespath: "length(Buckets)" }], ["get_result, one account", { result_id: resultId, account_id: "410151234567" }]]) {
  try {
    const res = await client.callTool({ name: "get_result", arguments: args });
    const data = res.structuredContent?.data ?? res.structuredContent?.results;
    console.log(`${label}: ${res.isError ? "tool error" : "ok"}, JSON as JSON: ${typeof data === "object"}`);
    if (res.isError || typeof data !== "object") failed++;
  } catch (e) {
    console.log(`${label}: FAILED: ${e}`);
    failed++;
  }
}
await client.close();
process.exit(failed ? 1 : 0);
