// Package bridge serves the proxy's tools as an AWS Lambda function behind
// Amazon Bedrock AgentCore Gateway (a Lambda target): the gateway names
// the tool in the client context and passes its arguments as the event.
package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// Client-context keys that Amazon Bedrock AgentCore Gateway sets on a
// Lambda target invocation.
const (
	ctxToolName     = "bedrockAgentCoreToolName"
	ctxGatewayID    = "bedrockAgentCoreGatewayId"
	ctxTargetID     = "bedrockAgentCoreTargetId"
	ctxSessionID    = "bedrockAgentCoreSessionId"
	ctxMCPMessageID = "bedrockAgentCoreMcpMessageId"
)

// maxLambdaPayload is kept under Lambda's 6 MB response limit.
const maxLambdaPayload = 5_500_000

// Bridge serves AgentCore Gateway's Lambda-target contract (and the seed's
// {"body": {"action": ...}} events) with the same core as the stdio server.
// It is built once per execution environment; warm invocations reuse its
// credential cache and upstream sessions.
type Bridge struct {
	svc *proxy.Service
	log *slog.Logger
	// budget caps one invocation (the gateway gives up after ~30-40 s).
	budget time.Duration
	// margin is kept before the deadline to assemble and return the answer.
	margin time.Duration
}

// errorAnswer is a tool-level failure, returned as data rather than as a
// function error so the agent reads the cause.
type errorAnswer struct {
	Tool   string `json:"tool"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// handle serves one invocation. A function error is returned only when the
// invocation cannot be understood (no or unknown tool name).
func (b *Bridge) Handle(ctx context.Context, event json.RawMessage) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	var custom map[string]string
	requestID := ""
	if lc != nil {
		custom, requestID = lc.ClientContext.Custom, lc.AwsRequestID
	}
	fullName := strings.TrimSpace(custom[ctxToolName])
	log := b.log.With("aws_request_id", requestID, "gateway_id", custom[ctxGatewayID], "target_id", custom[ctxTargetID],
		"session_id", custom[ctxSessionID], "mcp_message_id", custom[ctxMCPMessageID], "gateway_tool", fullName)

	ctx, cancel := b.withBudget(ctx)
	defer cancel()

	if fullName == "" {
		if seed, ok := parseSeedEvent(event); ok {
			log.Info("seed-style invocation", "action", seed.Action)
			return b.handleSeed(ctx, seed), nil
		}
		return nil, fmt.Errorf("no tool name: AgentCore Gateway passes it in the client context as custom.%s (\"<target>___<tool>\")", ctxToolName)
	}
	tool := gatewayToolName(fullName)
	if tool == "" {
		return nil, fmt.Errorf("malformed tool name %q: want \"<target>___<tool>\"", fullName)
	}
	log.Info("gateway invocation", "tool", tool)
	out, err := b.svc.Invoke(ctx, tool, event, nil)
	if errors.Is(err, proxy.ErrUnknownTool) {
		return nil, err
	}
	if err != nil {
		return errorAnswer{Tool: tool, Status: proxy.StatusError, Error: err.Error()}, nil
	}
	return fitPayload(out), nil
}

// gatewayToolName strips the "<target>___" prefix the gateway adds.
func gatewayToolName(name string) string {
	if _, tool, found := strings.Cut(name, "___"); found {
		return strings.TrimSpace(tool)
	}
	return name
}

// withBudget bounds the invocation so it answers before the Lambda deadline
// and the gateway's own limit, leaving margin to assemble the answer. The
// fan-out marks accounts still running at that point as timed out.
func (b *Bridge) withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := time.Now().Add(b.budget)
	if deadline, ok := ctx.Deadline(); ok && deadline.Add(-b.margin).Before(limit) {
		limit = deadline.Add(-b.margin)
	}
	return context.WithDeadline(ctx, limit)
}

// fitPayload encodes the answer once. Answers are fitted to the result
// budget already; this is the last guard of Lambda's 6 MB response limit
// (a list_accounts of tens of thousands of accounts, a seed-style answer).
func fitPayload(out any) any {
	encoded, err := json.Marshal(out)
	if err != nil {
		return errorAnswer{Status: proxy.StatusError, Error: "cannot encode the answer: " + err.Error()}
	}
	if len(encoded) <= maxLambdaPayload {
		return json.RawMessage(encoded)
	}
	return errorAnswer{Status: proxy.StatusError, Error: fmt.Sprintf(
		"the answer (%d bytes) exceeds Lambda's 6 MB response limit; narrow the call (selectors, a jmespath, max_bytes)", len(encoded))}
}

// seedRequest is the body of the seed design's events.
type seedRequest struct {
	Action    string          `json:"action"`
	ToolName  string          `json:"tool_name"`
	Arguments json.RawMessage `json:"arguments"`
	AccountID string          `json:"account_id"`
	Region    string          `json:"region"`
}

// seedResponse is the seed's {statusCode, body} answer.
type seedResponse struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

// parseSeedEvent reads {"body": "<json>"} (or a body object).
func parseSeedEvent(event json.RawMessage) (seedRequest, bool) {
	var outer struct {
		Body json.RawMessage `json:"body"`
	}
	if json.Unmarshal(event, &outer) != nil || len(outer.Body) == 0 {
		return seedRequest{}, false
	}
	body := bytes.TrimSpace(outer.Body)
	var s string
	if json.Unmarshal(body, &s) == nil {
		body = []byte(s)
	}
	var req seedRequest
	if json.Unmarshal(body, &req) != nil {
		return seedRequest{}, false
	}
	return req, true
}

// handleSeed answers a seed-style event as the seed did.
func (b *Bridge) handleSeed(ctx context.Context, req seedRequest) seedResponse {
	switch req.Action {
	case "list_accounts":
		out, err := b.svc.ListAccounts(ctx, accounts.Selector{})
		if err != nil {
			return seedError(http.StatusInternalServerError, err)
		}
		return seedOK(out.Accounts)
	case "query":
		res, err := b.svc.Query(ctx, proxy.QueryRequest{AccountID: req.AccountID, ToolName: req.ToolName, Arguments: req.Arguments, Region: req.Region})
		if err != nil {
			return seedError(http.StatusBadRequest, err)
		}
		if res.Data == nil {
			return seedError(http.StatusBadGateway, errors.New(res.Error))
		}
		return seedOK(jsonRPCEnvelope(res.Data))
	case "query_all":
		out, err := b.svc.QueryAll(ctx, proxy.QueryAllRequest{ToolName: req.ToolName, Arguments: req.Arguments, Region: req.Region}, nil)
		if err != nil {
			return seedError(http.StatusBadRequest, err)
		}
		byAccount := make(map[string]any, len(out.Results))
		for _, r := range out.Results {
			if r.Status == proxy.StatusSuccess {
				byAccount[r.AccountID] = map[string]any{"status": "success", "data": jsonRPCEnvelope(r.Raw())}
			} else {
				byAccount[r.AccountID] = map[string]any{"status": "error", "error": r.Error}
			}
		}
		return seedOK(byAccount)
	}
	return seedError(http.StatusBadRequest, errors.New("Unknown action"))
}

// jsonRPCEnvelope wraps an upstream result as the seed returned it: the
// whole JSON-RPC response.
func jsonRPCEnvelope(result json.RawMessage) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": 1, "result": result}
}

func seedOK(v any) seedResponse {
	body, err := json.Marshal(v)
	if err != nil {
		return seedError(http.StatusInternalServerError, err)
	}
	if len(body) > maxLambdaPayload {
		return seedError(http.StatusBadGateway, fmt.Errorf("the answer (%d bytes) exceeds Lambda's 6 MB response limit; narrow the call", len(body)))
	}
	return seedResponse{StatusCode: http.StatusOK, Body: string(body)}
}

func seedError(status int, err error) seedResponse {
	body, _ := json.Marshal(map[string]string{"error": err.Error()})
	return seedResponse{StatusCode: status, Body: string(body)}
}

// lambdaDefaults are the Lambda bridge's own defaults: JSON logs (for
// CloudWatch), a larger result budget (the gateway hands the answer to the
// agent whole), and no early reply (nothing runs after an invocation).
var lambdaDefaults = map[string]string{
	"AWS_MCP_LOG_FORMAT":    "json",
	"AWS_MCP_RESULT_BUDGET": strconv.Itoa(results.DefaultLambdaBudget),
	"AWS_MCP_REPLY_WITHIN":  "0",
}

// Env applies the Lambda bridge's defaults to the environment.
func Env(getenv func(string) string) func(string) string {
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return lambdaDefaults[name]
	}
}

// Refuse names a configuration the bridge cannot serve: an IAM Identity
// Center session belongs to a person at a terminal, and a Lambda function
// has no such person's token.
func Refuse(cfg app.Config) error {
	if cfg.SSOSession != "" {
		return errors.New("AWS_MCP_SSO_SESSION is for one person's own accounts (the stdio server and the CLI): the Lambda bridge has no IAM Identity Center token; use TARGET_ACCOUNTS or AWS_MCP_ORG with a role in each account")
	}
	return nil
}

// New wires a bridge onto the app. Config.InvocationBudget caps an
// invocation below the gateway's own limit. The bridge never offers
// changes: a gateway target has no human to confirm them.
func New(a *app.App) *Bridge {
	if a.Config.AllowChanges {
		a.Log.Warn("AWS_MCP_ALLOW_CHANGES is ignored: the Lambda bridge never offers change_all or apply_change")
	}
	return &Bridge{
		svc:    a.Service,
		log:    a.Log,
		budget: a.Config.InvocationBudget,
		margin: a.Config.ResponseMargin,
	}
}
