// The MCP App view of a fan-out (query_all, get_result, apply_change): the
// summary, every target with its status, shared answers and errors as
// groups, a search box and sorting, each account's whole answer on a click
// (get_result through the host), pending targets followed to their end.
// Every account name, error and answer is data: it is set as text
// (textContent), never parsed as HTML.
import { App, applyDocumentTheme, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";

const ROW_HEIGHT = 30; // px; rows past VIRTUAL_AFTER are windowed at this height
const VIRTUAL_AFTER = 1000;
const POLL_MS = 2000;

const app = new App({ name: "aws-mcp-multi-account fan-out", version: "1" }, {}, { autoResize: true });

const state = {
  tool: "",
  script: "",
  reply: null, // the last reply (query_all's structured content)
  rows: [], // one per target: {key, id, name, region, status, code, gist, error, sameAs, omitted, bytes, ms}
  names: new Map(), // account id → name, from the reply or list_accounts
  query: "",
  sort: "account",
  selected: null,
  polling: false,
};

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
};

// ---- reading a reply -------------------------------------------------------

// gist says in a few words what an answer holds: the size of its lists
// (nested ones too: "3 Reservations · 7 Instances") and the first ids of
// the most nested one (InstanceId for Instances), else the value itself,
// cut short.
function gist(data) {
  if (data === undefined || data === null) return "";
  if (typeof data !== "object") return short(String(data));
  const counts = new Map(); // list key → items, in the order met
  const ids = new Map(); // list key → first ids of its items
  const primitives = [];
  const walk = (v, depth, listKey) => {
    if (depth > 5 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x !== "object" && primitives.length < 4) primitives.push(String(x));
        walk(x, depth + 1, listKey);
      }
      return;
    }
    const singular = listKey.endsWith("ies") ? listKey.slice(0, -3) + "y" : listKey.replace(/s$/, "");
    for (const [k, x] of Object.entries(v)) {
      if (Array.isArray(x)) {
        if (k !== "Tags") counts.set(k, (counts.get(k) || 0) + x.length); // tags are on everything: noise here
      } else if (listKey && depth > 0 && typeof x === "string" && (k === singular + "Id" || k === singular + "Name" || k === singular + "Arn")) {
        const list = ids.get(listKey) || [];
        if (list.length < 3 && !list.includes(x)) list.push(x);
        ids.set(listKey, list);
      }
      walk(x, depth + 1, Array.isArray(x) ? k : typeof x === "object" ? "" : listKey);
    }
  };
  walk(data, 0, "");
  if (Array.isArray(data)) return data.length + (data.length === 1 ? " item" : " items") + (primitives.length ? ": " + short(primitives.join(", ")) : "");
  const lists = [...counts].filter(([, n]) => n > 0);
  if (!counts.size) return short(JSON.stringify(data));
  if (!lists.length) return [...counts].map(([k]) => "no " + k).slice(0, 2).join(" · ");
  const deepest = lists[lists.length - 1][0];
  const named = ids.get(deepest) || [...ids.values()].find((l) => l.length) || [];
  return short(lists.slice(0, 3).map(([k, n]) => n + " " + k).join(" · ") + (named.length ? ": " + named.join(", ") : ""));
}

// took renders a duration: milliseconds under a second, else seconds.
function took(ms) {
  return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
}

function short(s) {
  return s.length > 140 ? s.slice(0, 139) + "…" : s;
}

// rowsOf turns a reply into one row per target, resolving same_as and
// groups so that each row carries its own error or answer's gist.
function rowsOf(reply) {
  const items = reply.results || [];
  const label = (it) => (it.region && reply.summary.region === undefined ? it.account_id + "/" + it.region : it.account_id);
  const byLabel = new Map();
  for (const it of items) byLabel.set(label(it), it);
  const rows = items.map((it) => {
    const holder = it.same_as ? byLabel.get(it.same_as) : it;
    const data = holder && holder.data;
    const error = it.error || (holder && holder.error) || "";
    return {
      key: label(it),
      id: it.account_id,
      name: it.name || state.names.get(it.account_id) || "",
      region: it.region || reply.summary.region || "",
      status: it.status,
      code: it.error_code || (holder && holder.error_code) || "",
      error,
      sameAs: it.same_as || "",
      omitted: !!(it.data_omitted || (holder && holder.data_omitted)),
      bytes: it.bytes || (holder && holder.bytes) || 0,
      gist: it.status === "success" ? (data !== undefined ? gist(data) : it.data_omitted || (holder && holder.data_omitted) ? "answer left out of the reply (" + (it.bytes || (holder && holder.bytes) || "?") + " bytes): open to read it" : "") : "",
      ms: it.duration_ms,
    };
  });
  // Accounts the reply could not give an item: named, not dropped.
  const unlisted = (reply.unlisted && reply.unlisted.accounts) || [];
  for (const id of unlisted) {
    rows.push({ key: id, id, name: state.names.get(id) || "", region: reply.summary.region || "", status: "success", code: "", error: "", sameAs: "", omitted: true, bytes: 0, gist: "answered; not itemized in the reply: open to read it", ms: undefined });
  }
  return rows;
}

// ---- rendering -----------------------------------------------------------

const STATUS = { success: "✓", error: "✗", pending: "…", skipped: "–" };

function renderSummary() {
  const r = state.reply;
  const s = r.summary;
  $("tool").textContent = s.tool_name || state.tool;
  $("script").textContent = state.script;
  $("script").hidden = !state.script;
  const counts = $("counts");
  counts.replaceChildren();
  const n = (label, value, cls) => {
    const c = el("div", "count " + (cls || ""));
    c.append(el("span", "num", value), el("span", "lbl", label));
    counts.append(c);
  };
  n("targets", s.total);
  n("succeeded", s.succeeded, "ok");
  n("failed", s.failed, s.failed ? "bad" : "");
  n("pending", s.pending, s.pending ? "wait" : "");
  if (s.skipped) n("skipped", s.skipped);
  $("meta").textContent = [s.accounts ? s.accounts + " accounts" : "", s.regions ? s.regions + (s.regions === 1 ? " region" : " regions") : "", s.duration_ms ? took(s.duration_ms) : "", s.result_id || ""].filter(Boolean).join(" · ");
  // The reply's note tells the model how to read on; a person has the
  // table, so it is not shown.
  const warn = $("warnings");
  warn.replaceChildren(...(r.warnings || []).map((w) => el("li", "", w)));
  warn.hidden = !(r.warnings || []).length;
}

function renderGroups() {
  const box = $("groups");
  box.replaceChildren();
  for (const g of state.reply.groups || []) {
    const first = state.rows.find((r) => r.key === g.accounts[0]);
    const what = g.status === "error" ? (first && first.error) || g.error_code || "the same error" : first && first.gist ? first.gist : "the same answer";
    const b = el("button", "group " + g.status);
    b.type = "button";
    b.append(el("span", "gcount", g.count + (g.more ? "+" : "")), el("span", "gwhat", (g.status === "error" ? "failed: " : "answered: ") + what));
    b.title = g.accounts.join(", ");
    b.addEventListener("click", () => {
      $("search").value = g.status === "error" ? (first && first.code) || "" : "";
      state.query = $("search").value;
      renderRows();
    });
    box.append(b);
  }
  box.hidden = !box.childElementCount;
}

function visibleRows() {
  const q = state.query.trim().toLowerCase();
  let rows = state.rows;
  if (q) rows = rows.filter((r) => (r.id + " " + r.name + " " + r.region + " " + r.status + " " + r.code + " " + r.error).toLowerCase().includes(q));
  const cmp = {
    account: (a, b) => a.id.localeCompare(b.id) || a.region.localeCompare(b.region),
    name: (a, b) => (a.name || a.id).localeCompare(b.name || b.id),
    status: (a, b) => a.status.localeCompare(b.status) || a.id.localeCompare(b.id),
    time: (a, b) => (b.ms || 0) - (a.ms || 0),
  }[state.sort];
  return rows.slice().sort(cmp);
}

function rowElement(r) {
  const tr = el("div", "row " + r.status);
  tr.setAttribute("role", "row");
  tr.tabIndex = 0;
  tr.dataset.key = r.key;
  if (state.selected === r.key) tr.classList.add("selected");
  const status = el("span", "cell status", STATUS[r.status] || "?");
  status.title = r.status;
  const detail = r.status === "error" ? r.error : r.status === "pending" ? "still running" : r.sameAs ? "same as " + r.sameAs + (r.gist ? ": " + r.gist : "") : r.gist;
  tr.append(status, el("span", "cell id", r.id), el("span", "cell name", r.name), el("span", "cell region", r.region), el("span", "cell detail", detail), el("span", "cell ms", r.ms !== undefined ? took(r.ms) : ""));
  tr.addEventListener("click", () => open(r));
  tr.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      open(r);
    } else if (e.key === "ArrowDown" && tr.nextElementSibling) {
      e.preventDefault();
      tr.nextElementSibling.focus();
    } else if (e.key === "ArrowUp" && tr.previousElementSibling) {
      e.preventDefault();
      tr.previousElementSibling.focus();
    }
  });
  return tr;
}

function renderRows() {
  const rows = visibleRows();
  document.body.classList.toggle("no-time", !state.rows.some((r) => r.ms !== undefined));
  const body = $("rows");
  $("shown").textContent = rows.length === state.rows.length ? rows.length + " targets" : rows.length + " of " + state.rows.length + " targets";
  if (rows.length <= VIRTUAL_AFTER) {
    body.style.height = "";
    body.classList.remove("virtual");
    body.replaceChildren(...rows.map(rowElement));
    return;
  }
  // Windowed: only the rows in view exist, the scroll height is the whole.
  body.classList.add("virtual");
  const draw = () => {
    const top = body.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 10);
    const last = Math.min(rows.length, first + Math.ceil(body.clientHeight / ROW_HEIGHT) + 20);
    const spacer = el("div", "spacer");
    spacer.style.height = rows.length * ROW_HEIGHT + "px";
    const win = el("div", "window");
    win.style.transform = "translateY(" + first * ROW_HEIGHT + "px)";
    win.append(...rows.slice(first, last).map(rowElement));
    body.replaceChildren(spacer, win);
  };
  body.onscroll = draw;
  draw();
}

// ---- one account's answer -------------------------------------------------

async function open(r) {
  state.selected = r.key;
  for (const e of document.querySelectorAll(".row.selected")) e.classList.remove("selected");
  const row = document.querySelector('.row[data-key="' + CSS.escape(r.key) + '"]');
  if (row) row.classList.add("selected");
  const pane = $("detail");
  pane.hidden = false;
  $("detail-title").textContent = (r.name ? r.name + " (" + r.id + ")" : r.id) + (r.region ? " · " + r.region : "");
  const body = $("detail-body");
  if (r.status === "error") {
    body.textContent = (r.code ? r.code + ": " : "") + r.error;
    return;
  }
  if (r.status === "pending") {
    body.textContent = "Still running: this view follows it to its end.";
    return;
  }
  const id = state.reply.summary.result_id;
  if (!id) {
    body.textContent = "No stored result to read from.";
    return;
  }
  body.textContent = "Reading the answer…";
  try {
    const args = { result_id: id, account_id: r.id, max_bytes: 1048576 };
    if (r.region && state.reply.summary.regions > 1) args.region = r.region;
    const res = await app.callServerTool({ name: "get_result", arguments: args });
    if (state.selected !== r.key) return;
    const sc = res.structuredContent;
    if (res.isError) body.textContent = textOf(res);
    else if (sc && sc.data !== undefined) body.textContent = JSON.stringify(sc.data, null, 2);
    else if (sc && sc.part !== undefined) body.textContent = String(sc.part);
    else body.textContent = textOf(res);
  } catch (e) {
    body.textContent = "Could not read the answer: " + (e && e.message ? e.message : String(e));
  }
}

function textOf(res) {
  return (res.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

// ---- names and pending targets ---------------------------------------------

async function fillNames() {
  try {
    await readNames();
  } finally {
    document.body.dataset.ready = "1"; // every target, answer and name the view will read is in
  }
}

async function readNames() {
  const missing = state.rows.some((r) => !r.name);
  if (!missing) return;
  try {
    let offset = 0;
    for (let page = 0; page < 50; page++) {
      const res = await app.callServerTool({ name: "list_accounts", arguments: { offset, max_bytes: 1048576 } });
      const sc = res.structuredContent;
      if (res.isError || !sc) return;
      for (const a of sc.accounts || []) state.names.set(a.id, a.name);
      if (!sc.next_offset) break;
      offset = sc.next_offset;
    }
    for (const r of state.rows) if (!r.name) r.name = state.names.get(r.id) || "";
    renderRows();
  } catch {
    // names stay ids: the view still works
  }
}

async function follow() {
  if (state.polling) return;
  state.polling = true;
  try {
    while (state.reply && state.reply.summary.pending > 0 && state.reply.summary.result_id) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const res = await app.callServerTool({ name: "get_result", arguments: { result_id: state.reply.summary.result_id, max_bytes: 1048576 } });
      if (res.isError || !res.structuredContent) break;
      show(res.structuredContent, false);
    }
  } catch {
    // the last state stays on screen
  } finally {
    state.polling = false;
  }
}

// ---- wiring ----------------------------------------------------------------

function show(reply, fresh) {
  if (!reply || !reply.summary) return;
  state.reply = reply;
  for (const it of reply.results || []) if (it.name) state.names.set(it.account_id, it.name);
  state.rows = rowsOf(reply);
  $("empty").hidden = true;
  $("main").hidden = false;
  renderSummary();
  renderGroups();
  renderRows();
  const named = (reply.results || []).length + ((reply.unlisted && reply.unlisted.accounts) || []).length;
  // What the model's budget left out (targets or answers), the view reads
  // once in one larger page.
  if (fresh && (named < reply.summary.total || reply.summary.omitted > 0) && reply.summary.result_id) whole();
  else if (fresh) fillNames();
  if (reply.summary.pending > 0) follow();
}

// whole reads every target of a reply that could not list them all (the
// model's budget) in one get_result of up to 1 MiB, then the names.
async function whole() {
  try {
    const res = await app.callServerTool({ name: "get_result", arguments: { result_id: state.reply.summary.result_id, max_bytes: 1048576 } });
    if (!res.isError && res.structuredContent) show(res.structuredContent, false);
  } catch {
    // the reply's own targets stay on screen
  }
  fillNames();
}

function applyContext(ctx) {
  if (!ctx) return;
  if (ctx.theme) applyDocumentTheme(ctx.theme);
  if (ctx.styles && ctx.styles.variables) applyHostStyleVariables(ctx.styles.variables);
}

app.ontoolinput = (params) => {
  const args = (params && params.arguments) || {};
  state.tool = args.tool_name || "";
  const code = args.arguments && typeof args.arguments.code === "string" ? args.arguments.code : args.arguments && args.arguments.cli_command;
  state.script = code ? String(code).split("\n")[0] : "";
};
app.ontoolresult = (result) => show(result && result.structuredContent, true);
app.onhostcontextchanged = applyContext;

$("search").addEventListener("input", (e) => {
  state.query = e.target.value;
  renderRows();
});
$("sort").addEventListener("change", (e) => {
  state.sort = e.target.value;
  renderRows();
});
$("detail-close").addEventListener("click", () => {
  $("detail").hidden = true;
  state.selected = null;
});

app.connect().then(() => applyContext(app.getHostContext()));
