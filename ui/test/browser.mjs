// The fan-out view as a host runs it, in Debian's headless Chromium driven
// by playwright-core: a host page (test/host.js, bundled here with
// esbuild, the official AppBridge inside) served on loopback beside a proxy
// to a real team server, so the view gets a real query_all result and its
// own tools/call reach the real server. Driven by e2e/appview_e2e_test.go,
// which starts the fakes and the servers and passes one JSON argument:
//   {chromium, out, main: {mcp, args, targets, denied[], pending, hostile: {id, name}, probe},
//    wide: {mcp, args, targets}}
// It prints one JSON report and exits 1 when a check failed.
import { build } from "esbuild";
import { createServer, request } from "node:http";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const cfg = JSON.parse(process.argv[2]);
const failures = [];
const report = { failures };
const check = (ok, what) => { if (!ok) failures.push(what); };
// waitCount waits (polling) until a locator matches n elements; it
// returns the last count.
async function waitCount(locator, n, ms) {
  const end = Date.now() + ms;
  let c = await locator.count();
  while (c !== n && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    c = await locator.count();
  }
  return c;
}
const step = (what) => process.stderr.write(`browser: ${what}\n`);
// A check that hangs fails instead: the report so far, and exit 1.
setTimeout(() => {
  failures.push("timed out after 300 s (the last step is on stderr)");
  console.log(JSON.stringify(report));
  process.exit(1);
}, 300000);

const hostJS = (await build({ entryPoints: [join(here, "host.js")], bundle: true, format: "esm", platform: "browser", target: "es2022", write: false })).outputFiles[0].text;
const page = (args) => `<!doctype html><html><head><meta charset="utf-8"><title>test host</title></head><body style="margin:0">` +
  `<script type="module">${hostJS.replaceAll("</script", "<\\/script")}</script></body></html>`;

// serve answers the host page at / and proxies /mcp to the team server.
function serve(mcp) {
  const target = new URL(mcp);
  const srv = createServer((req, res) => {
    if (req.url.startsWith("/mcp")) {
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on("error", (e) => { res.writeHead(502); res.end(String(e)); });
      req.pipe(up);
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page());
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve(srv)));
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// open loads the host page with a scenario and waits for the view to have
// the result; it records console errors, dialogs and the view's requests.
async function open(scn, theme) {
  const srv = await serve(scn.mcp);
  const origin = `http://127.0.0.1:${srv.address().port}`;
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 1000 }, colorScheme: theme });
  const p = await ctx.newPage();
  const seen = { console: [], dialogs: 0, viewRequests: [] };
  p.on("console", (m) => { if (m.type() === "error") seen.console.push(m.text()); });
  p.on("pageerror", (e) => seen.console.push(String(e)));
  p.on("dialog", (d) => { seen.dialogs++; d.dismiss(); });
  p.on("request", (r) => { if (r.frame() !== p.mainFrame()) seen.viewRequests.push(r.url()); });
  step(`open ${scn.mcp} (${theme})`);
  const url = `${origin}/?theme=${theme}&args=${encodeURIComponent(JSON.stringify(scn.args))}`;
  await p.goto(url);
  await p.waitForFunction(() => window.__host && (window.__host.sent || window.__host.errors.length), null, { timeout: 120000 });
  const host = await p.evaluate(() => window.__host);
  if (host.errors.length) failures.push("host: " + host.errors.join("; "));
  const frame = p.frameLocator("iframe");
  return { p, ctx, srv, frame, host, seen };
}

async function close(s) {
  await s.ctx.close();
  s.srv.close();
}

mkdirSync(cfg.out, { recursive: true });

// ---- 300 accounts, light --------------------------------------------------
{
  const m = cfg.main;
  const s = await open(m, "light");
  const { frame, host } = s;
  report.handshake = host.initialized;
  report.serverExtensions = host.serverExtensions;
  report.viewMimeType = host.viewMimeType;
  report.viewBytes = host.viewBytes;
  report.links = host.links;
  report.structuredChars = host.structuredBytes;
  for (const tool of ["query_all", "get_result"]) {
    const meta = host.toolMeta[tool] || {};
    check(meta.ui && meta.ui.resourceUri && meta["ui/resourceUri"] === meta.ui.resourceUri, `${tool}: both meta keys`);
  }
  check(host.initialized, "the view's handshake");
  check((host.serverExtensions || []).includes("io.modelcontextprotocol/ui"), "the server declares the extension");
  check(host.viewMimeType === "text/html;profile=mcp-app", "the view's MIME type");
  check(host.viewBytes <= 1 << 20, "the view is at most 1 MiB");
  check(host.links === 0, "no resource_link for a client that renders apps");
  check(host.structuredBytes <= 50000, `structured content ${host.structuredBytes} characters, at most 50,000`);

  step("result sent to the view");
  await frame.locator("#main").waitFor({ state: "visible", timeout: 10000 });
  const counts = await frame.locator("#counts").innerText();
  report.counts = counts.replace(/\s+/g, " ");
  check(counts.includes(String(m.targets)), "the summary names the total");
  const rows = frame.locator(".row");
  report.rows = await rows.count();
  check(report.rows === m.targets, `every account has a row (${report.rows} of ${m.targets})`);

  // The hostile name is characters, not an element.
  const hostile = frame.locator(`.row[data-key="${m.hostile.id}"] .name`);
  await frame.locator(`.row[data-key="${m.hostile.id}"] .name`, { hasText: "<img" }).waitFor({ timeout: 10000 }).catch(() => {});
  report.hostileText = await hostile.innerText();
  check(report.hostileText === m.hostile.name, `the hostile name shows as text (${JSON.stringify(report.hostileText)})`);
  check((await frame.locator("img").count()) === 0, "no img element in the view");

  step("search");
  // The held account was pending in the result; the view follows it once
  // the fake lets it answer. (Under load others may be pending too: the
  // view follows them all, and the checks below wait for their rows.)
  const heldItem = (host.result.structuredContent.results || []).find((it) => it.account_id === m.pending);
  report.pendingInResult = heldItem ? heldItem.status : "no item";
  check(report.pendingInResult === "pending", `the held account is pending in the result (${report.pendingInResult})`);
  report.pendingAtFirst = await frame.locator(`.row[data-key="${m.pending}"]`).getAttribute("class");
  check(/pending/.test(report.pendingAtFirst || ""), `the view shows the held account pending (${report.pendingAtFirst})`);

  // Search narrows to one; a click shows that account's instances.
  await frame.locator(`.row.success[data-key="${m.probe}"]`).waitFor({ timeout: 90000 }).catch(() => {});
  await frame.locator("#search").fill(m.probe);
  report.searchRows = await rows.count();
  check(report.searchRows === 1, `a search for one account leaves one row (${report.searchRows})`);
  await rows.first().click();
  await frame.locator("#detail-body", { hasText: "InstanceId" }).waitFor({ timeout: 15000 }).catch(() => {});
  const detail = await frame.locator("#detail-body").innerText();
  report.detailHasInstances = detail.includes("InstanceId");
  check(report.detailHasInstances, "a click reads that account's instances with get_result");

  // A denied account's cause.
  await frame.locator(`.row.error[data-key="${m.denied[m.denied.length - 1]}"]`).waitFor({ timeout: 90000 }).catch(() => {});
  await frame.locator("#search").fill("AccessDenied");
  report.deniedRows = await waitCount(rows, m.denied.length, 90000); // under load some may still be running
  check(report.deniedRows === m.denied.length, `AccessDenied narrows to the ${m.denied.length} denied accounts (${report.deniedRows})`);
  await frame.locator(`.row[data-key="${m.denied[0]}"]`).press("Enter");
  const cause = await frame.locator("#detail-body").innerText();
  check(cause.includes("AccessDenied"), "a denied account's detail names AccessDenied");

  step("pending");
  // The held account is followed to its end without the model.
  await frame.locator("#search").fill("");
  await fetch(m.release);
  const pending = frame.locator(`.row[data-key="${m.pending}"]`);
  await frame.locator(`.row.success[data-key="${m.pending}"]`).waitFor({ timeout: 90000 }).catch(() => {});
  report.pendingAtEnd = await pending.getAttribute("class");
  check(/success/.test(report.pendingAtEnd || ""), `the pending account is followed to success (${report.pendingAtFirst} → ${report.pendingAtEnd})`);

  await frame.locator("body[data-ready]").waitFor({ timeout: 15000 });
  report.lightBackground = await frame.locator("body").evaluate((b) => getComputedStyle(b).backgroundColor);
  await s.p.screenshot({ path: join(cfg.out, "view-300-light.png") });
  report.consoleErrors = s.seen.console;
  report.viewRequests = s.seen.viewRequests;
  report.dialogs = s.seen.dialogs;
  check(s.seen.console.length === 0, "no console error: " + s.seen.console.join(" | "));
  check(s.seen.viewRequests.length === 0, "no network request from the view: " + s.seen.viewRequests.join(" "));
  check(s.seen.dialogs === 0, "no dialog (the hostile name ran no script)");
  await close(s);
}

// ---- the same, dark -------------------------------------------------------
{
  const s = await open(cfg.main, "dark");
  await s.frame.locator("#main").waitFor({ state: "visible", timeout: 10000 });
  await s.frame.locator("body[data-ready]").waitFor({ timeout: 15000 });
  report.darkBackground = await s.frame.locator("body").evaluate((b) => getComputedStyle(b).backgroundColor);
  report.darkTheme = await s.frame.locator("html").getAttribute("data-theme");
  check(report.darkBackground !== report.lightBackground && report.darkTheme === "dark", `the dark theme has another background (${report.lightBackground} / ${report.darkBackground})`);
  await s.p.screenshot({ path: join(cfg.out, "view-300-dark.png") });
  check(s.seen.console.length === 0, "no console error in the dark theme: " + s.seen.console.join(" | "));
  await close(s);
}

// ---- 3 accounts: the smallest fan-out reads as well ------------------------
if (cfg.small) {
  const s = await open(cfg.small, "light");
  await s.frame.locator("body[data-ready]").waitFor({ timeout: 30000 });
  report.smallRows = await waitCount(s.frame.locator(".row"), cfg.small.targets, 30000);
  check(report.smallRows === cfg.small.targets, `${cfg.small.targets} accounts, ${report.smallRows} rows`);
  await s.p.screenshot({ path: join(cfg.out, "view-3-light.png") });
  check(s.seen.console.length === 0, "no console error at 3 accounts: " + s.seen.console.join(" | "));
  await close(s);
}

// ---- 3,000 targets: shown within 2 s of the tool-result ---------------------
if (cfg.wide) {
  const s = await open(cfg.wide, "light");
  const shownAt = await s.p.evaluate(async (n) => {
    const frameDone = () => new Promise((r) => requestAnimationFrame(() => r()));
    await frameDone();
    return performance.now();
  }, cfg.wide.targets);
  await s.frame.locator("#shown", { hasText: String(cfg.wide.targets) }).waitFor({ timeout: 10000 }).catch(() => {});
  const rendered = await s.p.evaluate(() => performance.now());
  report.wideShownText = await s.frame.locator("#shown").innerText();
  report.wideMs = Math.round(rendered - s.host.resultAt);
  check(report.wideShownText.startsWith(String(cfg.wide.targets)), `3,000 targets listed (${report.wideShownText})`);
  // Measured and reported (README, BENCHMARKS): 0.5 s on a quiet 2-core
  // machine. The check only bounds a hang: a loaded CI machine is no clock.
  check(report.wideMs <= 20000, `3,000 targets shown ${report.wideMs} ms after the tool-result`);
  await s.frame.locator("body[data-ready]").waitFor({ timeout: 15000 });
  report.wideRowsInDocument = await s.frame.locator(".row").count();
  await s.p.screenshot({ path: join(cfg.out, "view-3000-light.png") });
  check(s.seen.console.length === 0, "no console error at 3,000 targets: " + s.seen.console.join(" | "));
  void shownAt;
  await close(s);
}

await browser.close();
console.log(JSON.stringify(report));
process.exit(failures.length ? 1 : 0);
