package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// listAccountsSchema is the input schema of the tool; its properties are the
// arguments it takes.
const listAccountsSchema = `{"type": "object", "properties": {` + selectorProperties + `}, "additionalProperties": false}`

var listAccountsArgs = schemaArgs(listAccountsSchema)

// ListAccountsTool lists the configured accounts, optionally narrowed by
// selectors so an agent can preview a query_all selection.
func ListAccountsTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolListAccounts,
		"List the AWS accounts this server can query: id, name, source, OU path, OU id and tags. "+
			"The optional selectors (ANDed together) preview which accounts query_all would target.",
		json.RawMessage(listAccountsSchema))
	tool.Annotations = annotations("List accounts", true)
	tool.RawOutputSchema = json.RawMessage(listAccountsOutputSchema)
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		out, err := s.runListAccounts(ctx, rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		return mcp.NewToolResultStructured(out, renderAccounts(out)), nil
	}
}

func (s *Service) runListAccounts(ctx context.Context, raw json.RawMessage) (*AccountList, error) {
	args, err := ParseArgs(raw, listAccountsArgs...)
	if err != nil {
		return nil, err
	}
	sel, err := selectorArgs(args)
	if err != nil {
		return nil, err
	}
	return s.ListAccounts(ctx, sel)
}

// invokeListAccounts is list_accounts for the Lambda bridge.
func invokeListAccounts(ctx context.Context, s *Service, args json.RawMessage, _ Progress) (any, error) {
	return s.runListAccounts(ctx, args)
}

// AccountList is the answer of list_accounts.
type AccountList struct {
	Accounts []accounts.Account `json:"accounts"`
	Count    int                `json:"count"`
	// Warnings name account sources that failed (their accounts are missing).
	Warnings []string `json:"warnings,omitempty"`
}

// ListAccounts returns the configured accounts that match sel.
func (s *Service) ListAccounts(ctx context.Context, sel accounts.Selector) (*AccountList, error) {
	all, warnings, err := s.listAccounts(ctx)
	if err != nil {
		return nil, err
	}
	if all, err = s.inScope(ctx, all); err != nil {
		return nil, err
	}
	if !sel.IsZero() {
		if all, err = accounts.Select(all, sel); err != nil {
			return nil, err
		}
	}
	return &AccountList{Accounts: all, Count: len(all), Warnings: warnings}, nil
}

// listAccounts lists the accounts, turning failed sources into warnings.
func (s *Service) listAccounts(ctx context.Context) ([]accounts.Account, []string, error) {
	all, err := s.dir.List(ctx)
	var partial *accounts.PartialError
	if errors.As(err, &partial) {
		warnings := make([]string, len(partial.Errs))
		for i, e := range partial.Errs {
			warnings[i] = e.Error()
			s.log.Warn("account source failed", "error", e)
		}
		return all, append(warnings, s.dir.Warnings()...), nil
	}
	return all, s.dir.Warnings(), err
}

// renderAccounts is the text of a list_accounts answer.
func renderAccounts(l *AccountList) string {
	var b strings.Builder
	b.WriteString(results.Plural(l.Count, "account") + "\n")
	for _, a := range l.Accounts {
		fmt.Fprintf(&b, "%s  %s  (source %s", a.ID, a.Name, a.Source)
		if a.OUPath != "" {
			fmt.Fprintf(&b, ", ou %s", a.OUPath)
		}
		if len(a.Tags) > 0 {
			tags, _ := json.Marshal(a.Tags)
			fmt.Fprintf(&b, ", tags %s", tags)
		}
		b.WriteString(")\n")
	}
	return b.String()
}

const listAccountsOutputSchema = `{
  "type": "object",
  "properties": {
    "accounts": {"type": "array", "items": {"type": "object", "properties": {
      "id": {"type": "string"}, "name": {"type": "string"}, "source": {"type": "string"},
      "ou_path": {"type": "string"}, "ou_id": {"type": "string"},
      "tags": {"type": "object", "additionalProperties": {"type": "string"}},
      "role_name": {"type": "string"}, "regions": {"type": "array", "items": {"type": "string"}},
      "profile": {"type": "string"}
    }, "required": ["id", "name", "source"]}},
    "count": {"type": "integer"},
    "warnings": {"type": "array", "items": {"type": "string"}, "description": "Account sources that failed; their accounts are missing."}
  },
  "required": ["accounts", "count"]
}`
