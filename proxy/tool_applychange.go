package proxy

import (
	"context"
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

const applyChangeSchema = `{"type": "object", "properties": {
		"change_id": {"type": "string", "description": "The change_id of a plan change_all made for you, within its life (10 minutes)."},` + budgetProperty + `
	}, "required": ["change_id"], "additionalProperties": false}`

var applyChangeArgs = schemaArgs(applyChangeSchema)

// ApplyChangeTool runs a plan of change_all once.
func ApplyChangeTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolApplyChange,
		"Run a plan change_all made, exactly as planned and only once: the canary alone first, then waves bounded by its "+
			"max_concurrency; once more than max_errors targets have failed no new target starts and the rest are skipped. "+
			"Call it only after the human agreed to the plan. Returns every target's outcome (success, error or skipped) "+
			"under a result_id for get_result. Cancelling starts no new target; the ones in flight finish.",
		json.RawMessage(applyChangeSchema))
	tool.Annotations = mcp.ToolAnnotation{Title: "Apply a planned change", ReadOnlyHint: mcp.ToBoolPtr(false),
		DestructiveHint: mcp.ToBoolPtr(true), IdempotentHint: mcp.ToBoolPtr(false), OpenWorldHint: mcp.ToBoolPtr(true)}
	tool.RawOutputSchema = json.RawMessage(queryAllOutputSchema)
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args, err := ParseArgs(rawArguments(req), applyChangeArgs...)
		if err != nil {
			return toolError(err), nil
		}
		id, err := args.String("change_id", true)
		if err != nil {
			return toolError(err), nil
		}
		budget, err := s.budgetArg(args)
		if err != nil {
			return toolError(err), nil
		}
		notes := progressNotifier(ctx, req)
		defer notes.close()
		c, out, err := s.ApplyChange(ctx, id, notes.progress())
		if err != nil {
			return toolError(err), nil
		}
		return s.changeResult(ctx, c, out, budget), nil
	}
}
