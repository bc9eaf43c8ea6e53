package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// budgetProperty and jmespathProperty are the arguments every tool that
// returns upstream answers takes.
const (
	budgetProperty = `
		"max_bytes": {"type": "integer", "description": "Byte budget of this answer's text (default: the server's result budget; at most its ceiling). What does not fit is kept and read with get_result."}`
	jmespathProperty = `
		"jmespath": {"type": "string", "description": "JMESPath expression applied to each account's JSON answer before it is returned (AWS CLI --query semantics), e.g. \"Reservations[].Instances[].[InstanceId, State.Name]\" or \"length(Buckets)\"."}`
)

// querySchema is the input schema of the tool; its properties are the
// arguments it takes.
const querySchema = `{"type": "object", "properties": {
		"account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": "12-digit id of a configured account (see list_accounts)."},
		"tool_name": {"type": "string", "description": "Upstream tool name, as list_tools names it."},
		"arguments": {"type": "object", "description": "Arguments of the upstream tool."},
		"region": {"type": "string", "description": "Target AWS region, e.g. us-west-2 (default: the account's or the server's default)."},` +
	jmespathProperty + `,` + budgetProperty + `
	}, "required": ["account_id", "tool_name"], "additionalProperties": false}`

var queryArgs = schemaArgs(querySchema)

// QueryTool calls an upstream tool in one account.
func QueryTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolQuery,
		"Run one AWS MCP Server tool in one account, with credentials of the role assumed there. "+upstreamNote(s)+
			" Returns the tool's result unchanged when it fits "+
			"the byte budget (max_bytes); a longer answer is cut, and get_result with the result_id and offset reads the "+
			"rest without calling AWS again. jmespath projects the answer server-side (AWS CLI --query semantics; for a "+
			"script, it applies to the script's return_value). "+queryModeNote(s.cfg),
		json.RawMessage(querySchema))
	tool.Annotations = annotations("Query one account", s.cfg.ReadOnly)
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, budget, err := s.runQuery(ctx, rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		return QueryToolResult(res, budget), nil
	}
}

func (s *Service) runQuery(ctx context.Context, raw json.RawMessage) (QueryResult, int, error) {
	q, budget, err := s.queryArgs(raw)
	if err != nil {
		return QueryResult{}, 0, err
	}
	res, err := s.Query(ctx, q)
	return res, budget, err
}

// queryArgs reads query's arguments and its budget.
func (s *Service) queryArgs(raw json.RawMessage) (QueryRequest, int, error) {
	var q QueryRequest
	args, err := ParseArgs(raw, queryArgs...)
	if err != nil {
		return q, 0, err
	}
	if q.AccountID, err = args.AccountID("account_id"); err != nil {
		return q, 0, err
	}
	c, err := upstreamCallArgs(args)
	if err != nil {
		return q, 0, err
	}
	q.ToolName, q.Arguments, q.Region, q.JMESPath = c.toolName, c.arguments, c.region, c.jmespath
	budget, err := s.budgetArg(args)
	return q, budget, err
}

// upstreamCall is what query and query_all both ask of the upstream: a tool,
// its arguments, the region and the projection of its answer.
type upstreamCall struct {
	toolName  string
	arguments json.RawMessage
	region    string
	jmespath  string
}

// upstreamCallArgs reads the arguments query and query_all share.
func upstreamCallArgs(args Args) (upstreamCall, error) {
	var c upstreamCall
	var err error
	if c.toolName, err = args.String("tool_name", true); err != nil {
		return c, err
	}
	if c.arguments, err = args.Object("arguments"); err != nil {
		return c, err
	}
	if c.region, err = args.String("region", false); err != nil {
		return c, err
	}
	c.jmespath, err = args.String("jmespath", false)
	return c, err
}

// budgetArg returns a call's text budget: max_bytes, within
// [results.MinBudget, ResultBudgetMax], else the configured budget.
func (s *Service) budgetArg(args Args) (int, error) {
	n, given, err := args.Int("max_bytes")
	if err != nil || !given {
		return s.cfg.ResultBudget, err
	}
	switch {
	case n < results.MinBudget:
		return 0, fmt.Errorf("max_bytes %d is below the smallest budget, %d", n, results.MinBudget)
	case n > int64(s.cfg.ResultBudgetMax):
		return 0, fmt.Errorf("max_bytes %d is over the ceiling of %d bytes (--result-budget-max); use get_result to page through larger answers", n, s.cfg.ResultBudgetMax)
	}
	return int(n), nil
}

// QueryToolResult turns one account's answer into the upstream's own
// result, as the query tool returns it: attributed to the account in
// _meta, cut to the budget when it is longer.
func QueryToolResult(res QueryResult, budget int) *mcp.CallToolResult {
	if res.Data == nil {
		return toolError(fmt.Errorf("account %s (%s), region %s: %s", res.AccountID, res.Name, res.Region, res.Error))
	}
	out := decodeToolResult(res.Data)
	fields := map[string]any{"account_id": res.AccountID, "account_name": res.Name, "region": res.Region, "duration_ms": res.DurationMS}
	if res.ResultID != "" {
		fields["result_id"] = res.ResultID
	}
	if out.Meta != nil {
		for k, v := range out.Meta.AdditionalFields {
			if _, taken := fields[k]; !taken {
				fields[k] = v
			}
		}
	}
	out.Meta = &mcp.Meta{AdditionalFields: fields}
	fitQueryResult(out, res, budget)
	if out.Content == nil {
		out.Content = []mcp.Content{}
	}
	return out
}

// decodeToolResult decodes an upstream result; content mcp-go cannot decode
// keeps isError and structuredContent and is passed on as its JSON text.
func decodeToolResult(data json.RawMessage) *mcp.CallToolResult {
	var out mcp.CallToolResult
	if err := json.Unmarshal(data, &out); err != nil {
		var loose struct {
			Content           json.RawMessage `json:"content"`
			StructuredContent json.RawMessage `json:"structuredContent"`
			IsError           bool            `json:"isError"`
		}
		_ = json.Unmarshal(data, &loose)
		out = mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(string(loose.Content))}, IsError: loose.IsError}
		if len(loose.StructuredContent) > 0 && string(loose.StructuredContent) != "null" {
			out.RawStructuredContent = loose.StructuredContent
		}
	}
	return &out
}

// fitQueryResult cuts an answer whose text exceeds the budget (the rest is
// read with get_result from the offset it names) and drops structured
// content and other items that would make the result larger than three
// budgets, saying what it left out.
func fitQueryResult(out *mcp.CallToolResult, res QueryResult, budget int) {
	var texts []string
	var others []mcp.Content
	for _, c := range out.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			texts = append(texts, tc.Text)
		} else {
			others = append(others, c)
		}
	}
	text := strings.Join(texts, "\n")
	var notes []string
	cut := len(text) > budget
	if cut {
		end := runeStart(text, max(0, budget-512))
		notes = append(notes, fmt.Sprintf("… cut at byte %d of %d for the %s budget; %s", end, len(text), results.Size(budget),
			readRest(res, end)))
		text = text[:end]
	}
	room := 3*budget - len(text) - 1024
	if sc := structuredSize(out); sc > 0 && (cut || sc > room) {
		out.StructuredContent, out.RawStructuredContent = nil, nil
		notes = append(notes, fmt.Sprintf("structuredContent (%s) left out for the budget; get_result has the whole answer", results.Size(sc)))
	} else {
		room -= sc
	}
	var kept []mcp.Content
	for _, c := range others {
		raw, _ := json.Marshal(c)
		if len(raw) > room {
			notes = append(notes, fmt.Sprintf("a %s item (%s) left out for the budget", contentType(raw), results.Size(len(raw))))
			continue
		}
		room -= len(raw)
		kept = append(kept, c)
	}
	if len(notes) == 0 {
		return
	}
	if len(texts) > 0 || cut {
		text += "\n" + strings.Join(notes, "\n")
	} else {
		text = strings.Join(notes, "\n")
	}
	out.Content = append([]mcp.Content{mcp.NewTextContent(text)}, kept...)
	if res.ResultID != "" {
		out.Content = append(out.Content, resultLink(res.ResultID, res.Entry))
	}
}

// readRest tells how to read the rest of an answer from offset.
func readRest(res QueryResult, offset int) string {
	if res.ResultID == "" {
		return "the rest is not kept: narrow the call (a jmespath, the AWS CLI's --query, or filters)"
	}
	args := map[string]any{"result_id": res.ResultID, "account_id": res.AccountID, "region": res.Region, "offset": offset}
	if res.JMESPath != "" {
		args["jmespath"] = res.JMESPath
	}
	raw, _ := json.Marshal(args)
	return "get_result " + string(raw) + " returns the rest"
}

func structuredSize(out *mcp.CallToolResult) int {
	switch {
	case len(out.RawStructuredContent) > 0:
		return len(out.RawStructuredContent)
	case out.StructuredContent != nil:
		raw, _ := json.Marshal(out.StructuredContent)
		return len(raw)
	}
	return 0
}

func contentType(raw []byte) string {
	var c struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &c)
	if c.Type == "" {
		return "content"
	}
	return c.Type
}

// runeStart moves a byte offset back to the start of the rune it is in.
func runeStart(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return i
}

// invokeQuery is query for the Lambda bridge.
func invokeQuery(ctx context.Context, s *Service, args json.RawMessage, _ Progress) (any, error) {
	res, budget, err := s.runQuery(ctx, args)
	if err != nil {
		return nil, err
	}
	return fitEntry(res, budget), nil
}
