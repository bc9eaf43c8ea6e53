package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnknownTool is returned by Invoke for a name that is not a proxy tool.
var ErrUnknownTool = errors.New("unknown tool")

// Invoke runs one of the proxy's tools with JSON arguments, outside MCP (the
// Lambda bridge). It returns the object the MCP tools put in
// structuredContent: *AccountList, Result, *QueryAllResult or
// *UpstreamToolList. Argument and request errors are returned as errors;
// an account's own failure is inside the result.
func (s *Service) Invoke(ctx context.Context, tool string, args json.RawMessage, progress Progress) (any, error) {
	switch tool {
	case ToolListAccounts:
		return s.runListAccounts(ctx, args)
	case ToolQuery:
		return s.runQuery(ctx, args)
	case ToolQueryAll:
		return s.runQueryAll(ctx, args, progress)
	case ToolListTools:
		return s.runListTools(ctx, args)
	}
	return nil, fmt.Errorf("%w %q: want %s, %s, %s or %s", ErrUnknownTool, tool, ToolListAccounts, ToolQuery, ToolQueryAll, ToolListTools)
}
