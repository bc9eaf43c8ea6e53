package proxy

import (
	"context"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// selection is what one request selects: the accounts in the caller's
// scope, those of them its selector picks, and the warnings of the
// account sources (a failed source, an account two sources named).
type selection struct {
	reachable []accounts.Account
	selected  []accounts.Account
	warnings  []string
}

// selectAccounts is the one path from a request's selector to its
// accounts, for list_accounts, query_all and change_all: every configured
// account, less those outside the caller's scope, then the selector (an
// empty pick is accounts.ErrEmptySelection, returned with the rest of the
// selection).
func (s *Service) selectAccounts(ctx context.Context, sel accounts.Selector) (selection, error) {
	all, warnings, err := s.listAccounts(ctx)
	if err != nil {
		return selection{}, err
	}
	if all, err = s.inScope(ctx, all); err != nil {
		return selection{}, err
	}
	out := selection{reachable: all, warnings: warnings}
	out.selected, err = accounts.Select(all, sel)
	return out, err
}

// targetsFor is every (account, region) pair of accts, in account order:
// the regions given, else each account's own defaults. It also returns how
// many distinct regions the targets have.
func (s *Service) targetsFor(accts []accounts.Account, regions []string) ([]target, int) {
	var out []target
	seen := map[string]bool{}
	for _, a := range accts {
		rs := regions
		if len(rs) == 0 {
			rs = s.defaultRegions(a)
		}
		for _, r := range rs {
			out = append(out, target{acct: a, region: r})
			seen[r] = true
		}
	}
	return out, len(seen)
}
