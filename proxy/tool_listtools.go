package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// listToolsSchema is the input schema of the tool; its properties are the
// arguments it takes.
const listToolsSchema = `{"type": "object", "properties": {
		"account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": "Account to look through (default: the first configured)."}
	}, "additionalProperties": false}`

var listToolsArgs = schemaArgs(listToolsSchema)

// ListToolsTool lists the upstream AWS MCP Server's tools.
func ListToolsTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolListTools,
		"List the tools of the AWS MCP Server (name, description, read-only) as seen through one account, "+
			"so you know which tool_name values query and query_all accept.",
		json.RawMessage(listToolsSchema))
	tool.Annotations = annotations("List upstream tools", true)
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		out, err := s.runListTools(ctx, rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		return mcp.NewToolResultStructured(out, renderTools(out)), nil
	}
}

func (s *Service) runListTools(ctx context.Context, raw json.RawMessage) (*UpstreamToolList, error) {
	args, err := ParseArgs(raw, listToolsArgs...)
	if err != nil {
		return nil, err
	}
	id := ""
	if args.present("account_id") {
		if id, err = args.AccountID("account_id"); err != nil {
			return nil, err
		}
	}
	return s.UpstreamTools(ctx, id)
}

// invokeListTools is list_tools for the Lambda bridge.
func invokeListTools(ctx context.Context, s *Service, args json.RawMessage, _ Progress) (any, error) {
	return s.runListTools(ctx, args)
}

// UpstreamToolList is the answer of list_tools.
type UpstreamToolList struct {
	AccountID string         `json:"account_id"`
	Tools     []UpstreamTool `json:"tools"`
}

// UpstreamTool describes one tool of the AWS MCP Server.
type UpstreamTool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ReadOnly    bool   `json:"read_only"`
}

// UpstreamTools lists the upstream tools through one account ("" for the first).
func (s *Service) UpstreamTools(ctx context.Context, accountID string) (*UpstreamToolList, error) {
	tools, acct, err := s.toolsThrough(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := &UpstreamToolList{AccountID: acct.ID, Tools: make([]UpstreamTool, len(tools))}
	for i, t := range tools {
		out.Tools[i] = UpstreamTool{Name: t.Name, Description: t.Description, ReadOnly: readOnlyHint(t)}
	}
	return out, nil
}

// renderTools is the text of a list_tools answer.
func renderTools(l *UpstreamToolList) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d upstream tools (seen through account %s)\n", len(l.Tools), l.AccountID)
	for _, t := range l.Tools {
		ro := ""
		if t.ReadOnly {
			ro = " [read-only]"
		}
		fmt.Fprintf(&b, "- %s%s: %s\n", t.Name, ro, t.Description)
	}
	return b.String()
}
