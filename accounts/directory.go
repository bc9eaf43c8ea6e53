package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Source lists the accounts of one origin (a file, the environment,
// AWS Organizations, local profiles).
type Source interface {
	// Accounts returns the source's accounts. Callers must not modify them.
	Accounts(ctx context.Context) ([]Account, error)
}

// Static is a fixed list of accounts, such as those read from a file.
type Static []Account

// Accounts returns the list itself.
func (s Static) Accounts(context.Context) ([]Account, error) { return s, nil }

// Directory combines sources into one list, drops excluded accounts, and
// looks accounts up by id. When two sources name the same account, the
// first source wins. It is safe for concurrent use.
type Directory struct {
	sources []Source
	exclude Selector

	mu       sync.Mutex
	last     []Account
	byID     map[string]Account
	lastSrc  [][]Account
	warnings []string
}

// NewDirectory returns a directory over sources, leaving out accounts whose
// id or name matches one of exclude (ids or name globs).
func NewDirectory(exclude []string, sources ...Source) (*Directory, error) {
	ex := Selector{Accounts: exclude}
	if err := ex.Validate(); err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	return &Directory{sources: sources, exclude: ex}, nil
}

// PartialError reports account sources that failed while others answered:
// the accounts returned with it are those of the healthy sources. Callers
// show it as a warning rather than lose the accounts they have.
type PartialError struct {
	Errs []error
}

// Error lists the failed sources.
func (e *PartialError) Error() string {
	return "some accounts are missing: " + errors.Join(e.Errs...).Error()
}

// Unwrap returns the failures.
func (e *PartialError) Unwrap() []error { return e.Errs }

// List returns every account of every source, minus exclusions. When some
// sources fail it returns the others' accounts with a *PartialError, so a
// caller can go on but never skips accounts silently; when every source
// fails it returns only the error.
func (d *Directory) List(ctx context.Context) ([]Account, error) {
	lists := make([][]Account, len(d.sources))
	var failed []error
	for i, src := range d.sources {
		accts, err := src.Accounts(ctx)
		var partial *PartialError
		if errors.As(err, &partial) {
			failed = append(failed, partial.Errs...)
		} else if err != nil {
			failed = append(failed, err)
			continue
		}
		lists[i] = accts
	}
	if len(failed) > 0 && len(failed) >= len(d.sources) && allEmpty(lists) {
		return nil, fmt.Errorf("list accounts: %w", errors.Join(failed...))
	}
	all := d.remember(lists)
	if len(failed) > 0 {
		return all, &PartialError{Errs: failed}
	}
	return all, nil
}

func allEmpty(lists [][]Account) bool {
	for _, l := range lists {
		if len(l) > 0 {
			return false
		}
	}
	return true
}

// remember merges the lists, reusing the last merge when no source changed.
func (d *Directory) remember(lists [][]Account) []Account {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != nil && sameLists(lists, d.lastSrc) {
		return d.last
	}
	all, byID := d.merge(lists)
	if all == nil {
		all = []Account{}
	}
	d.last, d.byID, d.lastSrc, d.warnings = all, byID, lists, Overlaps(lists...)
	return all
}

// Warnings names the accounts that two sources both listed in the last
// List (the first source's entry is the one used), and what sources left
// out (an IAM Identity Center account with none of the roles asked for).
func (d *Directory) Warnings() []string {
	d.mu.Lock()
	out := append([]string(nil), d.warnings...)
	d.mu.Unlock()
	for _, src := range d.sources {
		if w, ok := src.(interface{ Warnings() []string }); ok {
			out = append(out, w.Warnings()...)
		}
	}
	return out
}

// sourceNames are how warnings name the sources.
var sourceNames = map[string]string{
	SourceFile:          "the accounts file",
	SourceEnv:           "TARGET_ACCOUNTS",
	SourceProfile:       "the --profiles profiles",
	SourceOrganizations: "AWS Organizations",
	SourceSSO:           "IAM Identity Center",
}

// Overlaps returns one warning per pair of sources that name the same
// accounts, listing them; the earlier source wins, as in a Directory.
func Overlaps(lists ...[]Account) []string {
	type pair struct{ first, second int }
	owner := map[string]int{}
	var order []pair
	shared := map[pair][]string{}
	for i, l := range lists {
		for _, a := range l {
			first, seen := owner[a.ID]
			if !seen {
				owner[a.ID] = i
				continue
			}
			if first == i {
				continue
			}
			p := pair{first, i}
			if _, ok := shared[p]; !ok {
				order = append(order, p)
			}
			shared[p] = append(shared[p], a.ID)
		}
	}
	out := make([]string, 0, len(order))
	for _, p := range order {
		ids := shared[p]
		listed := ids
		more := ""
		if len(ids) > 20 {
			listed, more = ids[:20], fmt.Sprintf(" and %d more", len(ids)-20)
		}
		first, second := sourceName(lists[p.first]), sourceName(lists[p.second])
		count := fmt.Sprintf("%d accounts are", len(ids))
		if len(ids) == 1 {
			count = "1 account is"
		}
		out = append(out, fmt.Sprintf("%s in both %s and %s; the entries of %s are used: %s%s",
			count, first, second, first, strings.Join(listed, ", "), more))
	}
	return out
}

func sourceName(l []Account) string {
	if len(l) > 0 {
		if n, ok := sourceNames[l[0].Source]; ok {
			return n
		}
		return l[0].Source
	}
	return "a source"
}

// merge combines source lists, first source first, without exclusions or
// repeated ids.
func (d *Directory) merge(lists [][]Account) ([]Account, map[string]Account) {
	var all []Account
	byID := make(map[string]Account)
	for _, accts := range lists {
		for _, a := range accts {
			if _, dup := byID[a.ID]; dup {
				continue
			}
			if len(d.exclude.Accounts) > 0 && d.exclude.matchAccounts(a) {
				continue
			}
			byID[a.ID] = a
			all = append(all, a)
		}
	}
	return all, byID
}

// sameLists reports whether every source returned the very slice it returned
// last time, so the merged list can be reused.
func sameLists(a, b [][]Account) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) || (len(a[i]) > 0 && &a[i][0] != &b[i][0]) {
			return false
		}
	}
	return true
}

// Lookup returns the configured account with this id, or an error wrapping
// ErrUnknownAccount.
func (d *Directory) Lookup(ctx context.Context, id string) (Account, error) {
	if !ValidID(id) {
		return Account{}, fmt.Errorf("%w: %q is not a 12-digit account id", ErrUnknownAccount, id)
	}
	_, err := d.List(ctx)
	var partial *PartialError
	if err != nil && !errors.As(err, &partial) {
		return Account{}, err
	}
	d.mu.Lock()
	a, ok := d.byID[id]
	d.mu.Unlock()
	if !ok {
		if partial != nil {
			return Account{}, fmt.Errorf("%w: %s is not one of the accounts found (%v)", ErrUnknownAccount, id, partial)
		}
		return Account{}, fmt.Errorf("%w: %s is not one of the configured accounts (see list_accounts)", ErrUnknownAccount, id)
	}
	return a, nil
}
