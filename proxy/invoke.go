package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

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

// fitAnswer fits a fan-out's reply into the budget (the bridge answers
// with it alone: no links).
func (s *Service) fitAnswer(a *results.Answer, budget int) json.RawMessage {
	return s.render(a, budget, false).JSON
}
