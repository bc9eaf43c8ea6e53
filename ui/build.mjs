// Builds the MCP App view into one self-contained HTML document,
// ../proxy/view/fanout.html (committed and embedded with go:embed, so that
// go build needs no Node): src/view.js and the official ext-apps SDK bundled
// by esbuild into one inline script, inside src/view.html. No CDN, no
// network: hosts' default CSP would block it. CI runs this and fails when
// the committed file differs.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "proxy", "view", "fanout.html");
const MAX = 1 << 20;

const result = await build({
  entryPoints: [join(here, "src", "view.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  platform: "browser",
  legalComments: "none",
  write: false,
});
// "</script" may not appear inside an inline script.
const js = result.outputFiles[0].text.replaceAll("</script", "<\\/script");
const html = readFileSync(join(here, "src", "view.html"), "utf8").split("/*VIEW_SCRIPT*/").join(js);
if (Buffer.byteLength(html) > MAX) throw new Error(`the view is ${Buffer.byteLength(html)} bytes, over ${MAX}`);
writeFileSync(out, html);
console.log(`wrote ${out}: ${Buffer.byteLength(html)} bytes`);
