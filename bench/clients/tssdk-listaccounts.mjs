// list_accounts at 10,000 accounts, through the official TypeScript SDK
// client over stdio: the stdio binary (first argument) over an accounts
// file of 10,000 accounts with tags (env, team, a unique email) in 8 OUs.
// The default answer must fit what Claude Code keeps inline (50,000
// characters of structured content and of text), name the total and the
// counts by tag; paging with offset/next_offset must reach every account;
// the tags selector must narrow to exactly its accounts. Run by
// bench/claudecode.sh.
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const n = 10000;
const envs = ["prod", "dev", "staging", "sandbox"], teams = ["web", "data", "payments", "ml", "platform"];
const accounts = Array.from({ length: n }, (_, i) => ({
  id: String(700000000001 + i), name: `${envs[i % 4]}-${teams[i % 5]}-${String(i + 1).padStart(5, "0")}`,
  ou_path: `Root/Workloads/OU${i % 8}`, tags: { env: envs[i % 4], team: teams[i % 5], email: `aws+${i + 1}@example.com` },
}));
const file = join(mkdtempSync(join(tmpdir(), "accounts-")), "accounts.json");
writeFileSync(file, JSON.stringify(accounts));
const env = { ...process.env, AWS_MCP_LOG_LEVEL: "warn", AWS_MCP_ACCOUNTS_FILE: file, AWS_REGION: "us-east-1" };
const client = new Client({ name: "list-accounts", version: "1" });
await client.connect(new StdioClientTransport({ command: process.argv[2], env, stderr: "inherit" }));

let failed = false;
const call = async (args) => {
  const res = await client.callTool({ name: "list_accounts", arguments: args });
  if (res.isError) throw new Error(res.content[0].text);
  return { s: res.structuredContent, chars: JSON.stringify(res.structuredContent).length, text: res.content.find((c) => c.type === "text").text.length };
};
const first = await call({});
const tagCounts = Object.entries(first.s.summary.by_tag).map(([k, v]) => `${k} ${v}`).join(", ");
console.log(`list_accounts {} over ${n} accounts: structured content ${first.chars} characters, text ${first.text}; total ${first.s.summary.total}, ` +
  `${first.s.accounts.length} accounts listed, next_offset ${first.s.next_offset}; by_tag: ${tagCounts}`);
if (first.chars > 50000 || first.text > 50000 || first.s.summary.total !== n || first.s.summary.by_tag["env=prod"] !== n / 4) failed = true;

const seen = new Set();
let pages = 0, offset = 0, page = first;
for (;;) {
  pages++;
  for (const a of page.s.accounts) seen.add(a.id);
  if (page.chars > 50000) failed = true;
  if (!page.s.next_offset) break;
  offset = page.s.next_offset;
  page = await call({ offset });
}
console.log(`paging: ${seen.size} of ${n} accounts in ${pages} calls`);
if (seen.size !== n) failed = true;

const narrowed = await call({ tags: { env: "prod", team: "payments" } });
const exact = narrowed.s.accounts.every((a) => a.tags.env === "prod" && a.tags.team === "payments");
console.log(`tags env=prod, team=payments: count ${narrowed.s.count} (want ${n / 20}), ${narrowed.s.accounts.length} listed, every one matching: ${exact}`);
if (narrowed.s.count !== n / 20 || !exact) failed = true;
if (failed) process.exitCode = 1;
await client.close();
