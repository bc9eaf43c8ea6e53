package proxy

import (
	"context"
	"encoding/json"
	"fmt"

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
			" Returns the account's answer (a script's return_value, else the tool's structured content or text) when it fits "+
			"the byte budget (max_bytes); a longer answer is cut, and get_result with the result_id and offset reads the "+
			"rest without calling AWS again (raw: true reads the upstream's whole result). jmespath projects the answer server-side (AWS CLI --query semantics; for a "+
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
		return 0, fmt.Errorf("max_bytes %d is over the ceiling of %d bytes (%s); use get_result to page through larger answers", n, s.cfg.ResultBudgetMax, s.cfg.setting("result-budget-max"))
	}
	return int(n), nil
}

// QueryToolResult is one account's answer as the query tool returns it:
// the answer itself (a script's return_value, the upstream's structured
// content or its text), attributed to the account, cut to the budget when
// it is longer; the store keeps the upstream's whole result.
func QueryToolResult(res QueryResult, budget int) *mcp.CallToolResult {
	if res.Status != StatusSuccess {
		return toolError(fmt.Errorf("account %s (%s), region %s: %s", res.AccountID, res.Name, res.Region, res.Error))
	}
	return structuredResult(newQueryReply(res, budget))
}

// QueryReply is one account's answer to query, fitted to a budget.
type QueryReply struct {
	AccountID  string `json:"account_id"`
	Name       string `json:"name"`
	Region     string `json:"region"`
	Status     string `json:"status"`
	ResultID   string `json:"result_id,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	JMESPath   string `json:"jmespath,omitempty"`
	// Data is the answer (projected with JMESPath), when it fits.
	Data json.RawMessage `json:"data,omitempty"`
	// DataOmitted says the answer (Bytes long) did not fit; Part is its
	// first bytes and NextOffset where get_result reads on.
	DataOmitted bool   `json:"data_omitted,omitempty"`
	Bytes       int    `json:"bytes,omitempty"`
	Part        string `json:"part,omitempty"`
	NextOffset  *int   `json:"next_offset,omitempty"`
	Error       string `json:"error,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	// Note says how to read what the budget left out.
	Note string `json:"note,omitempty"`
}

// newQueryReply fits one account's answer into the budget.
func newQueryReply(res QueryResult, budget int) QueryReply {
	out := QueryReply{AccountID: res.AccountID, Name: res.Name, Region: res.Region, Status: res.Status, ResultID: res.ResultID,
		DurationMS: res.DurationMS, JMESPath: res.JMESPath, Error: res.Error, ErrorCode: res.ErrorCode}
	value := res.Value()
	if value == nil {
		return out
	}
	room := budget - 1024
	if len(value) <= room {
		out.Data = value
		return out
	}
	out.DataOmitted, out.Bytes = true, len(value)
	end := runeStart(string(value), max(0, room/2))
	out.Part = string(value[:end])
	out.NextOffset = &end
	out.Note = fmt.Sprintf("the answer (%s) exceeds the %s budget: part holds its first %d bytes; %s", results.Size(len(value)), results.Size(budget), end, readRest(res, end))
	return out
}

// readRest tells how to read the rest of an answer from offset.
func readRest(res QueryResult, offset int) string {
	if res.ResultID == "" {
		return "the rest is not kept: narrow the call (a jmespath, or filters in the script)"
	}
	args := map[string]any{"result_id": res.ResultID, "account_id": res.AccountID, "region": res.Region, "offset": offset}
	if res.JMESPath != "" {
		args["jmespath"] = res.JMESPath
	}
	return "get_result " + string(results.Marshal(args)) + " returns the rest"
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
	return newQueryReply(res, budget), nil
}
