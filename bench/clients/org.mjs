// A stdio binary (its path first) over accounts of the fakeserver (its
// path second), connected through the official TypeScript SDK client:
// shared by the organization-scale client checks of bench/claudecode.sh.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

// connectOrg starts the fakeserver with fakeArgs and the binary with env
// added over n accounts (200000000001…), and returns the connected
// client, the accounts and a close function.
export async function connectOrg(binary, fakeserver, { accounts: n, fakeArgs = [], env: extra = {}, name }) {
  const fakes = spawn(fakeserver, ["-accounts", String(n), "-latency", "100ms", ...fakeArgs], { stdio: ["pipe", "pipe", "inherit"] });
  const first = await new Promise((res) => createInterface({ input: fakes.stdout }).once("line", res));
  const env = { ...process.env, AWS_MCP_LOG_LEVEL: "warn", ...extra };
  for (const kv of JSON.parse(first).env) { const i = kv.indexOf("="); env[kv.slice(0, i)] = kv.slice(i + 1); }
  const ids = Array.from({ length: n }, (_, i) => ({ id: String(200000000001 + i), name: `acct-${String(i + 1).padStart(3, "0")}` }));
  env.TARGET_ACCOUNTS = JSON.stringify(ids);
  const client = new Client({ name, version: "1" });
  await client.connect(new StdioClientTransport({ command: binary, env, stderr: "inherit" }));
  await client.listTools();
  const close = async () => { await client.close(); fakes.stdin.end(); fakes.kill(); };
  return { client, ids, close };
}
