package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// ErrUnknownTool is returned by Invoke for a name that is not a proxy tool.
var ErrUnknownTool = errors.New("unknown tool")

// Invoke runs one of the proxy's tools with JSON arguments, outside MCP (the
// Lambda bridge). It returns the object the MCP tools put in
// structuredContent, fitted to the result budget: *AccountList, QueryResult,
// *results.Answer, *UpstreamToolList or *StoredAnswer. A fan-out waits for
// every account (there is no background work after an invocation).
// Argument and request errors are returned as errors; an account's own
// failure is inside the result.
func (s *Service) Invoke(ctx context.Context, tool string, args json.RawMessage, progress Progress) (any, error) {
	var names []string
	for _, spec := range toolSpecs {
		if spec.invoke == nil {
			continue // never through the bridge
		}
		if spec.name == tool {
			return spec.invoke(ctx, s, args, progress)
		}
		names = append(names, spec.name)
	}
	return nil, fmt.Errorf("%w %q: want %s or %s", ErrUnknownTool, tool, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

// fitAnswer fits a fan-out's structured answer alone into the budget.
func (s *Service) fitAnswer(a *results.Answer, budget int) *results.Answer {
	return results.Render(a, results.RenderOptions{Budget: budget, ResultID: a.Summary.ResultID, NotKept: s.cfg.NotKept, StructuredOnly: true}).Answer
}

// fitEntry leaves out the data of one account's answer that does not fit
// the budget, saying where it is kept.
func fitEntry(res QueryResult, budget int) QueryResult {
	if len(res.Data) <= budget-1024 {
		return res
	}
	size := len(results.Text(res.Data))
	res.Data, res.DataOmitted, res.Bytes = nil, true, size
	if res.ResultID != "" {
		res.Note = fmt.Sprintf("the answer (%s) exceeds the %s budget: get_result {\"result_id\": %q, \"account_id\": %q, \"region\": %q} reads it in pages",
			results.Size(size), results.Size(budget), res.ResultID, res.AccountID, res.Region)
	} else {
		res.Note = fmt.Sprintf("the answer (%s) exceeds the %s budget and is not kept: narrow the call (a jmespath, the AWS CLI's --query, or filters)",
			results.Size(size), results.Size(budget))
	}
	return res
}
