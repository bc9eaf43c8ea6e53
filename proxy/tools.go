package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
	"github.com/centralops/aws-mcp-multi-account/proxy/view"
)

// Tool names: a stable contract that clients and the gateway schema use,
// in the order of toolSpecs. The change tools are offered only where
// changes are allowed.
const (
	ToolListAccounts = "list_accounts"
	ToolQuery        = "query"
	ToolQueryAll     = "query_all"
	ToolListTools    = "list_tools"
	ToolGetResult    = "get_result"
	ToolChangeAll    = "change_all"
	ToolApplyChange  = "apply_change"
)

// The upstream's tools that the proxy knows by name.
const (
	// RunScriptTool runs a Python script calling AWS APIs (call_boto3) as
	// the identity that signed the request. It replaced aws___call_aws,
	// which the AWS MCP Server removed on 2026-08-31.
	RunScriptTool = "aws___run_script"
	// GetTasksTool polls the upstream's long-running tasks (a script that
	// answered with a task_id).
	GetTasksTool = "aws___get_tasks"
	// CallAWSTool runs an AWS CLI command; its read-only status depends
	// on the command (guard.IsReadOnlyCommand), not on its annotation. An
	// endpoint that still lists it is guarded as before.
	CallAWSTool = "aws___call_aws"
)

// toolSpec is one tool of the proxy, declared in its own tool_*.go file:
// its MCP definition and handler, and how the Lambda bridge runs it
// (returning the structured answer, fitted to the budget).
type toolSpec struct {
	name   string
	define func(*Service) (mcp.Tool, server.ToolHandlerFunc)
	// invoke is nil for a tool the Lambda bridge never offers.
	invoke func(ctx context.Context, s *Service, args json.RawMessage, progress Progress) (any, error)
	// change marks a tool that changes accounts: offered only where
	// changes are allowed (Service.CanChange), never by the bridge.
	change bool
	// shown marks a tool whose result the MCP App view renders.
	shown bool
}

// toolSpecs are every tool, in a stable order: Tools, Invoke and the
// gateway schema read this one list. A new tool is a new file and a line here.
var toolSpecs = []toolSpec{
	{ToolListAccounts, ListAccountsTool, invokeListAccounts, false, false},
	{ToolQuery, QueryTool, invokeQuery, false, false},
	{ToolQueryAll, QueryAllTool, invokeQueryAll, false, true},
	{ToolListTools, ListToolsTool, invokeListTools, false, false},
	{ToolGetResult, GetResultTool, invokeGetResult, false, true},
	{ToolChangeAll, ChangeAllTool, nil, true, false},
	{ToolApplyChange, ApplyChangeTool, nil, true, true},
}

// Tools returns every tool the service offers with its handler, in a
// stable order: the change tools only when changes are allowed.
func Tools(s *Service) []server.ServerTool {
	var out []server.ServerTool
	for _, spec := range toolSpecs {
		if spec.change && !s.cfg.changesAllowed() {
			continue
		}
		tool, handler := spec.define(s)
		meta := map[string]any{maxResultSizeKey: s.maxResultChars()}
		if spec.shown {
			// The view, for hosts that render MCP Apps: the nested key of
			// the spec, and the flat one some hosts still read.
			meta["ui"] = map[string]any{"resourceUri": view.URI}
			meta["ui/resourceUri"] = view.URI
		}
		tool.Meta = &mcp.Meta{AdditionalFields: meta}
		out = append(out, server.ServerTool{Tool: tool, Handler: handler})
	}
	return out
}

// maxResultSizeKey is Claude Code's per-tool ceiling on what it keeps
// inline (characters; it saves a larger result to a file). Set, it
// replaces the 50,000-character default and skips the token limit
// (MAX_MCP_OUTPUT_TOKENS); Claude Code caps it at 500,000.
const maxResultSizeKey = "anthropic/maxResultSizeChars"

// maxResultChars is the ceiling an explicit max_bytes can reach (the
// budget's ceiling, plus a quarter for what a client's own wrapping and
// escaping adds), within Claude Code's cap. Default answers fit the
// 50,000-character default without it.
func (s *Service) maxResultChars() int {
	return min(s.cfg.ResultBudgetMax+s.cfg.ResultBudgetMax/4, 500_000)
}

// isChangeTool reports whether a tool changes accounts.
func isChangeTool(name string) bool {
	for _, spec := range toolSpecs {
		if spec.name == name {
			return spec.change
		}
	}
	return false
}

// changeToolFilter hides the change tools from callers that may change no
// account; mcp-go applies it to tools/list and tools/call alike.
func changeToolFilter(s *Service) server.ToolFilterFunc {
	return func(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
		out := tools[:0:0]
		can, asked := false, false
		for _, t := range tools {
			if isChangeTool(t.Name) {
				if !asked {
					can, asked = s.CanChange(ctx), true
				}
				if !can {
					continue
				}
			}
			out = append(out, t)
		}
		return out
	}
}

// NewServer returns an MCP server that offers the proxy's tools, the
// stored results as resources, and query_all as a task to clients that ask
// for one.
//
// The descriptions of query and query_all, and the instructions, name the
// upstream's tools once they are known: the first tools/list (or call)
// lists them, waiting for them briefly; the tools are then registered
// again, and clients hear notifications/tools/list_changed.
func NewServer(s *Service, version string, opts ...server.ServerOption) *server.MCPServer {
	tasks := newTaskTracker()
	hooks := tasks.hooks()
	hooks.AddBeforeListTools(func(ctx context.Context, _ any, _ *mcp.ListToolsRequest) {
		if !s.tools.known() {
			ctx, cancel := context.WithTimeout(ctx, warmWait)
			defer cancel()
			s.WarmTools(ctx)
		}
	})
	hooks.AddAfterInitialize(func(_ context.Context, _ any, _ *mcp.InitializeRequest, res *mcp.InitializeResult) {
		res.Instructions = instructions(s)
	})
	base := []server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(false, false),
		// No prompts, but an empty prompts/list: AgentCore Gateway calls
		// tools/list, prompts/list, resources/list and
		// resources/templates/list when it syncs an MCP server target
		// (https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-target-MCPservers.html).
		server.WithPromptCapabilities(false),
		server.WithTaskCapabilities(true, true, true),
		server.WithHooks(hooks),
		server.WithTaskHooks(tasks.taskHooks()),
		server.WithToolHandlerMiddleware(clientAgent),
		server.WithToolFilter(changeToolFilter(s)),
		server.WithRecovery(),
		server.WithResourceRecovery(),
		server.WithInstructions(instructions(s)),
		server.WithExtensions(map[string]any{view.Extension: map[string]any{}}),
	}
	srv := server.NewMCPServer("aws-mcp-multi-account", version, append(base, opts...)...)
	s.tasks = tasks
	srv.AddTools(Tools(s)...)
	s.tools.notify(func() { srv.AddTools(Tools(s)...) })
	srv.AddResourceTemplate(ResultTemplate(s))
	srv.AddResource(viewResource())
	return srv
}

// viewResource is the MCP App view of a fan-out, served by resources/read.
func viewResource() (mcp.Resource, server.ResourceHandlerFunc) {
	res := mcp.NewResource(view.URI, "Fan-out view", mcp.WithResourceDescription("Every account of a query_all, get_result or apply_change: status, groups, search, each answer"), mcp.WithMIMEType(view.MIMEType))
	return res, func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: view.URI, MIMEType: view.MIMEType, Text: view.HTML}}, nil
	}
}

// rendersApps reports whether the client of ctx declared the MCP Apps
// extension: it shows the view, and a resource_link in a result would keep
// the view from getting the result (claude.ai, claude-ai-mcp#753).
func rendersApps(ctx context.Context) bool {
	// A request of the 2026-07-28 protocol carries its client's
	// capabilities itself (a --stateless server keeps no session).
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientCapabilities != nil {
		_, declared := info.ClientCapabilities.Extensions[view.Extension]
		return declared
	}
	s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	if !ok {
		return false
	}
	_, declared := s.GetClientCapabilities().Extensions[view.Extension]
	return declared
}

// clientAgent passes the MCP client's name, from its initialize, on to the
// User-Agent of the upstream requests a tool call makes.
func clientAgent(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
			if info := s.GetClientInfo(); info.Name != "" {
				ctx = upstream.WithClient(ctx, info.Name, info.Version)
			}
		}
		return next(ctx, req)
	}
}

// instructions tell the agent what the server does, naming the upstream
// tools once they are known.
func instructions(s *Service) string {
	return "Query many AWS accounts through the AWS MCP Server. Call list_accounts to see the accounts " +
		"(and preview a selection), list_tools to see the upstream tools, query to run one upstream tool in one " +
		"account, and query_all to run it in every selected account (and region) at once. " + upstreamNote(s) +
		" Answers fit a byte budget: project them with the jmespath argument (AWS CLI --query " +
		"semantics) to get what you need from every account, and read what an answer left out with get_result " +
		"and its result_id, which never calls AWS again. " + delegatedNote + " " + modeNote(s.cfg) + changeNote(s.cfg)
}

// changeHint names change_all where changes are allowed.
func changeHint(cfg Config) string {
	if !cfg.changesAllowed() {
		return ""
	}
	return ", and change_all for a change across accounts"
}

// changeNote tells the agent how to change many accounts, where it may.
func changeNote(cfg Config) string {
	if !cfg.changesAllowed() {
		return ""
	}
	return " To change many accounts, use change_all: it makes a plan (with a canary, a concurrency and a failure budget) that the human confirms, " +
		"and apply_change runs that plan once."
}

// upstreamNote says what the upstream offers, from its cached tools/list:
// how to call AWS through its script tool (or, where an endpoint still
// lists it, its CLI tool), and nothing about tools it does not list.
func upstreamNote(s *Service) string {
	tools, known := s.tools.list()
	if !known {
		return "list_tools names the AWS MCP Server's tools (the tool_name values)."
	}
	names := make([]string, len(tools))
	has := map[string]bool{}
	for i, t := range tools {
		names[i], has[t.Name] = t.Name, true
	}
	note := "The AWS MCP Server offers " + strings.Join(names, ", ") + "."
	switch {
	case has[RunScriptTool]:
		note += " To call AWS APIs, run a Python script with " + RunScriptTool + ": AWS is reachable through " +
			"await call_boto3(service_name=..., operation_name=... (PascalCase), region_name=None, params=None), " +
			"and the last expression is the answer, e.g. arguments " + exampleArguments +
			" with jmespath \"Reservations[].Instances[].InstanceId\". A script that becomes a task is polled to its end."
	case has[CallAWSTool]:
		note += " To call AWS APIs, run an AWS CLI command with " + CallAWSTool + `, e.g. arguments {"cli_command": "aws ec2 describe-instances"}.`
	}
	return note
}

// modeNote tells the agent which safety mode is active.
func modeNote(cfg Config) string {
	switch {
	case cfg.ReadOnly:
		return "Read-only mode is on: every session carries a read-only session policy, so scripts can only read, and tools that are not read-only are refused."
	case cfg.AllowWriteFanout:
		return "Write fan-out is allowed: query_all runs scripts with the role's own permissions and any tool, including ones that change resources. Be careful."
	}
	return "query_all runs every call in a read-only session (a read-only session policy that also denies secret reads): a write in a script " +
		"fails in each account with AccessDenied (error_code access_denied), and tools that are not read-only are refused; use query for a change in one account" + changeHint(cfg) + "."
}

// queryModeNote tells the agent how query acts in one account.
func queryModeNote(cfg Config) string {
	if cfg.ReadOnly {
		return modeNote(cfg)
	}
	return "query runs with the role's own permissions: a script can change resources in that account."
}

const selectorProperties = `
		"accounts": {"type": "array", "items": {"type": "string"}, "description": "Account ids or name globs (e.g. \"prod-*\"); an account matches any entry."},
		"tags": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Tag key to value; every tag must match."},
		"ou": {"type": "string", "description": "OU id (ou-...) or OU path prefix (e.g. \"Root/Workloads\")."}`

func selectorArgs(args Args) (accounts.Selector, error) {
	var sel accounts.Selector
	var err error
	if sel.Accounts, err = args.Strings("accounts"); err != nil {
		return sel, err
	}
	if sel.Tags, err = args.StringMap("tags"); err != nil {
		return sel, err
	}
	if sel.OU, err = args.String("ou", false); err != nil {
		return sel, err
	}
	return sel, sel.Validate()
}

func annotations(title string, readOnly bool) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{
		Title:          title,
		ReadOnlyHint:   mcp.ToBoolPtr(readOnly),
		OpenWorldHint:  mcp.ToBoolPtr(true),
		IdempotentHint: mcp.ToBoolPtr(readOnly),
	}
}

// rawArguments returns the call's arguments as JSON.
func rawArguments(req mcp.CallToolRequest) json.RawMessage {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments
	}
	if req.Params.Arguments == nil {
		return nil
	}
	if raw, ok := req.Params.Arguments.(json.RawMessage); ok {
		return raw
	}
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return json.RawMessage(`"unencodable arguments"`)
	}
	return raw
}

func toolError(err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(strings.TrimSpace(err.Error()))
}

// progressInterval is the least time between two progress notifications
// of one call: a fan-out over 10,000 accounts needs a few a second, not
// 10,000, and the fewer there are, the less likely one lands in the read
// that carries its result (see progressNotes).
const progressInterval = 250 * time.Millisecond

// progressNotes sends notifications/progress of one call, when the client
// asked for them with a progressToken. None is sent for the target whose
// completion ends the call (the result says it); the rest are coalesced to
// the latest one per progressInterval, sent at the end of the interval, so
// that a notification and its result rarely meet; the stdio server holds
// a result back briefly when one did (internal/cli/progress_order.go).
// Progress only ever increases, as MCP asks, and nothing is sent once the
// handler has closed the notes.
type progressNotes struct {
	ctx   context.Context
	srv   *server.MCPServer
	token mcp.ProgressToken

	mu      sync.Mutex
	last    time.Time // when the last one was sent
	done    int       // the progress it carried
	pending *progressNote
	timer   *time.Timer
	closed  bool
}

// progressNote is one notification's content.
type progressNote struct {
	done, total int
	message     string
}

// progressNotifier returns the notes of a call, or nil when the client
// asked for none.
func progressNotifier(ctx context.Context, req mcp.CallToolRequest) *progressNotes {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	return &progressNotes{ctx: ctx, srv: srv, token: req.Params.Meta.ProgressToken}
}

// progress returns the Progress that reports answered targets (nil for no
// notes).
func (n *progressNotes) progress() Progress {
	if n == nil {
		return nil
	}
	return func(done, total int) {
		if done >= total {
			return // the result says it
		}
		n.report(progressNote{done, total, fmt.Sprintf("%d/%d answered", done, total)})
	}
}

// waiting returns what tells the client why the call has not started (nil
// for no notes).
func (n *progressNotes) waiting() func(string) {
	if n == nil {
		return nil
	}
	return func(msg string) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.sendLocked(progressNote{message: msg})
	}
}

// report sends p now if the last notification is progressInterval old,
// else keeps it (the latest wins) for the end of the interval.
func (n *progressNotes) report(p progressNote) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || p.done <= n.done {
		return
	}
	wait := progressInterval - time.Since(n.last)
	if wait <= 0 {
		n.sendLocked(p)
		return
	}
	if n.pending == nil || p.done > n.pending.done {
		n.pending = &p
	}
	if n.timer == nil {
		n.timer = time.AfterFunc(wait, n.flush)
	}
}

// flush sends the note kept for the end of the interval.
func (n *progressNotes) flush() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.timer = nil
	if p := n.pending; p != nil && !n.closed {
		n.pending = nil
		n.sendLocked(*p)
	}
}

// close ends the notes: after it returns, none is sent. The handler calls
// it before it returns its result.
func (n *progressNotes) close() {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
	}
}

// sendLocked hands one notification to the server (which queues it for
// its writer). n.mu is held, so that close is a barrier.
func (n *progressNotes) sendLocked(p progressNote) {
	n.last, n.done = time.Now(), max(n.done, p.done)
	params := map[string]any{"progressToken": n.token, "progress": p.done, "message": p.message}
	if p.total > 0 {
		params["total"] = p.total
	}
	_ = n.srv.SendNotificationToClient(n.ctx, string(mcp.MethodNotificationProgress), params)
}

// ToolDefinitions returns the tool definitions the Lambda bridge
// advertises with cfg, without handlers: for schema generation. The
// bridge never offers changes.
func ToolDefinitions(cfg Config) []mcp.Tool {
	cfg.AllowChanges = false
	s := New(cfg, nil, nil, nil, nil)
	var out []mcp.Tool
	for _, t := range Tools(s) {
		out = append(out, t.Tool)
	}
	return out
}
