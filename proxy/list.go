package proxy

import (
	"context"
	"errors"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

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
	tools, acct, err := s.ListTools(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := &UpstreamToolList{AccountID: acct.ID, Tools: make([]UpstreamTool, len(tools))}
	for i, t := range tools {
		out.Tools[i] = UpstreamTool{Name: t.Name, Description: t.Description, ReadOnly: readOnlyHint(t)}
	}
	return out, nil
}
