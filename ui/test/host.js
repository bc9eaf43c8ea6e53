// A minimal MCP Apps host, as Claude Desktop or VS Code is one: it connects
// to the server (Streamable HTTP, same origin: /mcp) declaring the
// extension, reads the view that query_all names in its _meta, puts it in a
// sandboxed iframe under a strict CSP, connects the official AppBridge to
// it, runs query_all and hands the view the input and the result. The
// view's own tools/call (get_result, list_accounts) are forwarded to the
// server by AppBridge. window.__host reports to the browser test.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const EXTENSION = "io.modelcontextprotocol/ui";
// No network for the view: only its own inline script and styles.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; media-src data:; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'";

const host = (window.__host = { initialized: false, errors: [] });
const params = new URLSearchParams(location.search);
const theme = params.get("theme") || "light";
document.documentElement.style.background = theme === "dark" ? "#111" : "#fafafa";

async function main() {
  const client = new Client({ name: "test-host", version: "1" }, { capabilities: { extensions: { [EXTENSION]: { mimeTypes: ["text/html;profile=mcp-app"] } } } });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));
  host.serverExtensions = Object.keys((client.getServerCapabilities() || {}).extensions || {});
  const tools = (await client.listTools()).tools;
  host.toolMeta = Object.fromEntries(tools.map((t) => [t.name, t._meta || {}]));
  const uri = host.toolMeta.query_all.ui && host.toolMeta.query_all.ui.resourceUri;
  const resource = (await client.readResource({ uri })).contents[0];
  host.viewMimeType = resource.mimeType;
  host.viewBytes = new TextEncoder().encode(resource.text).length;

  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.title = "fan-out view";
  iframe.style.cssText = "width:100%;height:900px;border:0;display:block";
  document.body.append(iframe);
  const bridge = new AppBridge(client, { name: "test-host", version: "1" }, { serverTools: {}, serverResources: {}, logging: {} }, {
    hostContext: { theme, displayMode: "inline", platform: "web" },
  });
  bridge.oninitialized = () => { host.initialized = true; };
  bridge.onsizechange = (size) => { host.size = size; };
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = resource.text.replace("<head>", `<head><meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  await until(() => host.initialized, 10000, "the view's ui/initialize");

  const args = JSON.parse(params.get("args"));
  await bridge.sendToolInput({ arguments: args });
  const result = await client.callTool({ name: "query_all", arguments: args }, undefined, { timeout: 120000 });
  host.result = result;
  host.links = (result.content || []).filter((c) => c.type === "resource_link").length;
  host.structuredBytes = JSON.stringify(result.structuredContent).length;
  host.resultAt = performance.now();
  await bridge.sendToolResult(result);
  host.sent = true;
}

function until(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => (cond() ? resolve() : Date.now() - start > ms ? reject(new Error("timed out waiting for " + what)) : setTimeout(tick, 20));
    tick();
  });
}

main().catch((e) => { host.errors.push(String(e && e.stack ? e.stack : e)); });
