package proxy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// queryAllSchema is the input schema of the tool; its properties are the
// arguments it takes.
const queryAllSchema = `{"type": "object", "properties": {
		"tool_name": {"type": "string", "description": "Upstream tool name, as list_tools names it."},
		"arguments": {"type": "object", "description": "Arguments of the upstream tool, the same for every account."},
		"region": {"type": "string", "description": "Target AWS region for every account (default: each account's default)."},
		"regions": {"type": "array", "items": {"type": "string"}, "description": "Several target regions: the tool runs once per account and region."},` + selectorProperties + `,` +
	jmespathProperty + `,` + budgetProperty + `,
		"reply_within_s": {"type": "number", "description": "Seconds to wait before answering with the accounts that have finished (default: the server's reply deadline, 45 unless its operator set another); the others stay pending in the background. 0 waits for every account (as the Lambda bridge always does)."}
	}, "required": ["tool_name"], "additionalProperties": false}`

var queryAllArgs = schemaArgs(queryAllSchema)

// QueryAllTool fans an upstream tool out over the selected accounts.
func QueryAllTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolQueryAll,
		"Run one AWS MCP Server tool in every selected account (and region) in parallel. "+upstreamNote(s)+" Returns one entry per "+
			"account (per account and region when regions is given) with status success, error or pending, and a "+
			"summary; one account's failure does not fail the call. The answer fits a byte budget (max_bytes): every "+
			"account is named with its status, identical answers and identical errors are grouped, and answers that do "+
			"not fit are left out but kept under the result_id, for get_result to read without calling AWS again. To "+
			"see what you need from every account at once, project the answers: jmespath applies a JMESPath expression "+
			"to each account's JSON answer (AWS CLI --query semantics; for a script, to its return_value), e.g. "+
			"\"Reservations[].Instances[].InstanceId\", \"length(Buckets)\". "+
			"The call answers within reply_within_s with the accounts that have finished; slower ones are pending and "+
			"finish in the background, and get_result shows them. "+delegatedNote+" "+modeNote(s.cfg)+" "+secretNote(s.cfg),
		json.RawMessage(queryAllSchema))
	tool.Annotations = annotations("Query many accounts", s.cfg.ReadOnly || !s.cfg.AllowWriteFanout)
	tool.RawOutputSchema = json.RawMessage(queryAllOutputSchema)
	tool.Execution = &mcp.ToolExecution{TaskSupport: mcp.TaskSupportOptional}
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, done := s.tasks.detach(ctx, req, s.life)
		defer done()
		q, budget, err := s.queryAllArgs(rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		if req.Params.Task != nil {
			q.ReplyWithin = 0 // a task runs until every account has answered
		}
		notes := progressNotifier(ctx, req)
		defer notes.close()
		q.Waiting = notes.waiting()
		out, err := s.QueryAll(ctx, q, notes.progress())
		if err != nil {
			return toolError(err), nil
		}
		return s.AnswerResult(ctx, out, budget), nil
	}
}

// secretNote tells the agent which reads fan-outs do not run.
func secretNote(cfg Config) string {
	if cfg.AllowSecretFanout {
		return "Secret-bearing reads (Secrets Manager values, decrypted SecureString parameters, ...) may fan out: be careful."
	}
	return "Reads whose answer is a secret (Secrets Manager values, decrypted SecureString parameters, ECR and CodeArtifact tokens, " +
		"EC2 password data, Lambda code and configuration, ...) are denied in every account of a fan-out by its session policy; " +
		"use query for one account."
}

func (s *Service) queryAllArgs(raw json.RawMessage) (QueryAllRequest, int, error) {
	var q QueryAllRequest
	args, err := ParseArgs(raw, queryAllArgs...)
	if err != nil {
		return q, 0, err
	}
	c, err := upstreamCallArgs(args)
	if err != nil {
		return q, 0, err
	}
	q.ToolName, q.Arguments, q.Region, q.JMESPath = c.toolName, c.arguments, c.region, c.jmespath
	if q.Regions, err = args.Strings("regions"); err != nil {
		return q, 0, err
	}
	if q.Selector, err = selectorArgs(args); err != nil {
		return q, 0, err
	}
	q.ReplyWithin = s.cfg.ReplyWithin
	if within, given, err := args.Seconds("reply_within_s"); err != nil {
		return q, 0, err
	} else if given {
		q.ReplyWithin = within
	}
	budget, err := s.budgetArg(args)
	q.ReplyBudget = budget
	return q, budget, err
}

// AnswerResult renders a fan-out's answer within the budget, as the
// query_all tool returns it: one JSON reply as structured content and, the
// same bytes, as text, and links to a few answers it leaves out (none for a
// client that renders MCP Apps: the view reads them).
func (s *Service) AnswerResult(ctx context.Context, a *results.Answer, budget int) *mcp.CallToolResult {
	r := s.render(a, budget, !rendersApps(ctx))
	return jsonResult(r.JSON, r.Links...)
}

// render fits a fan-out's answer into the budget; links only where a
// client can read them (resources/read).
func (s *Service) render(a *results.Answer, budget int, links bool) *results.Rendered {
	opts := results.RenderOptions{Budget: budget, ResultID: a.Summary.ResultID, NotKept: s.cfg.NotKept, BudgetMax: s.cfg.ResultBudgetMax}
	if links {
		opts.LinkURI = func(e results.Entry) string { return ResultURI(a.Summary.ResultID, e.AccountID, e.Region) }
	}
	return results.Render(a, opts)
}

// jsonResult is a tool result whose structured content is raw and whose
// text is the same bytes (as the MCP specification recommends: a client
// shows the model one of the two), then the links.
func jsonResult(raw []byte, links ...results.Link) *mcp.CallToolResult {
	// StructuredContent too: mcp-go copies results (a task's) without
	// their raw bytes.
	out := &mcp.CallToolResult{RawStructuredContent: raw, StructuredContent: json.RawMessage(raw), Content: []mcp.Content{mcp.NewTextContent(string(raw))}}
	for _, l := range links {
		link := mcp.NewResourceLink(l.URI, l.Name, l.Description, l.MIMEType)
		size := int64(l.Size)
		link.Size = &size
		out.Content = append(out.Content, link)
	}
	return out
}

// structuredResult is jsonResult of a value.
func structuredResult(v any) *mcp.CallToolResult {
	return jsonResult(results.Marshal(v))
}

// ResultURI is the resource URI of one stored answer.
func ResultURI(id, account, region string) string {
	return fmt.Sprintf("%s%s/%s/%s", resultURIPrefix, id, account, region)
}

const resultURIPrefix = "awsmcp://results/"

// queryAllOutputSchema describes results.Reply (query_all, apply_change,
// and get_result without account_id).
const queryAllOutputSchema = `{
  "type": "object",
  "properties": {
    "summary": {"type": "object", "description": "First: the outcome in one line (text), then its counts.", "properties": {
      "text": {"type": "string"}, "tool_name": {"type": "string"},
      "jmespath": {"type": "string", "description": "The projection applied to every answer."},
      "region": {"type": "string", "description": "The one region of every item, when there is one."},
      "total": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
      "pending": {"type": "integer"}, "skipped": {"type": "integer", "description": "Targets of a change that never started."},
      "omitted": {"type": "integer", "description": "Successful targets whose answer is not in this reply."},
      "listed": {"type": "integer", "description": "How many items results holds, when the budget could not hold one per target (unlisted names the others)."},
      "result_id": {"type": "string", "description": "Names the stored answers for get_result."},
      "accounts": {"type": "integer"}, "regions": {"type": "integer"},
      "concurrency": {"type": "integer"}, "duration_ms": {"type": "integer"}
    }, "required": ["text", "tool_name", "total", "succeeded", "failed"]},
    "note": {"type": "string", "description": "What the reply leaves out and how to read it."},
    "warnings": {"type": "array", "items": {"type": "string"}, "description": "Account sources that failed (their accounts are missing), and accounts two sources both named."},
    "groups": {"type": "array", "description": "Answers and errors several targets share: the first account named holds it in results, the others say same_as.", "items": {"type": "object", "properties": {
      "status": {"type": "string"}, "error_code": {"type": "string"}, "count": {"type": "integer"},
      "accounts": {"type": "array", "items": {"type": "string"}}, "more": {"type": "integer"}
    }, "required": ["status", "count", "accounts"]}},
    "results": {"type": "array", "items": {"type": "object", "properties": {
      "account_id": {"type": "string"}, "name": {"type": "string"}, "region": {"type": "string"},
      "status": {"type": "string", "enum": ["success", "error", "pending", "skipped"], "description": "pending: still running when the reply was given; get_result shows it once done. skipped: a target of a change that never started (error says why)."},
      "data": {"description": "The account's answer: a script's return_value, else the tool's structured content or text (projected by jmespath)."},
      "same_as": {"type": "string", "description": "The target (account id, or account/region) whose identical answer or error this one shares."},
      "data_omitted": {"type": "boolean", "description": "The answer did not fit the budget; get_result with the summary's result_id reads it (unless error_code is not_kept: the result store could not keep it)."},
      "bytes": {"type": "integer", "description": "Size of the answer left out."},
      "error": {"type": "string"},
      "error_code": {"type": "string"},
      "duration_ms": {"type": "integer"}
    }, "required": ["account_id", "status"]}},
    "unlisted": {"type": "object", "description": "Successful targets without an item in results.", "properties": {
      "count": {"type": "integer"}, "accounts": {"type": "array", "items": {"type": "string"}}, "more": {"type": "integer"}
    }}
  },
  "required": ["summary", "results"]
}`

// invokeQueryAll is query_all for the Lambda bridge: it waits for every
// account (there is no background work after an invocation).
func invokeQueryAll(ctx context.Context, s *Service, args json.RawMessage, progress Progress) (any, error) {
	q, budget, err := s.queryAllArgs(args)
	if err != nil {
		return nil, err
	}
	q.ReplyWithin = 0
	out, err := s.QueryAll(ctx, q, progress)
	if err != nil {
		return nil, err
	}
	return s.fitAnswer(out, budget), nil
}
