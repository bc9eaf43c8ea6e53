// Progress notifications never share a read with their result, through
// the official TypeScript SDK client over stdio: the stdio binary (first
// argument) over 40 accounts of the fakeserver (second argument) whose
// latencies rise in even steps, the last 8 answering within the same
// millisecond. Each query_all asks for progress; the SDK reports a
// notification handled after its response as "Received a progress
// notification for an unknown token" through onerror (Claude Code logs it
// as a connection error). Runs (third argument, default 200) fan-outs and
// counts both. Run by bench/claudecode.sh.
import { connectOrg } from "./org.mjs";

const runs = Number(process.argv[4] || 200);
const { client, close } = await connectOrg(process.argv[2], process.argv[3],
  { accounts: 40, fakeArgs: ["-latency", "0s", "-ramp", "600ms", "-tail", "8"], name: "progress" });
const code = "resp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp";
let unknown = 0, otherErrors = 0, notes = 0, answered = 0, failed = 0;
client.onerror = (e) => { if (/unknown token/.test(String(e && e.message))) unknown++; else otherErrors++; };
const started = Date.now();
for (let i = 0; i < runs; i++) {
  const res = await client.callTool({ name: "query_all", arguments: { tool_name: "aws___run_script", arguments: { code } } },
    undefined, { timeout: 60000, onprogress: () => { notes++; } });
  if (res.isError || res.structuredContent.summary.succeeded !== 40) failed++; else answered++;
}
await new Promise((r) => setTimeout(r, 200)); // a trailing notification would be reported after its result
console.log(`progress: ${runs} fan-outs of 40 accounts (the last 8 together) in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
  `${answered} answered, ${failed} failed, ${notes} progress notifications, ${unknown} "unknown token" errors, ${otherErrors} other client errors`);
if (unknown > 0 || failed > 0) process.exitCode = 1;
await close();
