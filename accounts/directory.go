package accounts

import (
	"context"
	"fmt"
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

	mu      sync.Mutex
	last    []Account
	byID    map[string]Account
	lastSrc [][]Account
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

// List returns every account of every source, minus exclusions. It fails
// when any source fails, so a fan-out never silently skips accounts.
func (d *Directory) List(ctx context.Context) ([]Account, error) {
	lists := make([][]Account, len(d.sources))
	for i, src := range d.sources {
		accts, err := src.Accounts(ctx)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		lists[i] = accts
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != nil && sameLists(lists, d.lastSrc) {
		return d.last, nil
	}
	all, byID := d.merge(lists)
	d.last, d.byID, d.lastSrc = all, byID, lists
	return all, nil
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
	if _, err := d.List(ctx); err != nil {
		return Account{}, err
	}
	d.mu.Lock()
	a, ok := d.byID[id]
	d.mu.Unlock()
	if !ok {
		return Account{}, fmt.Errorf("%w: %s is not one of the configured accounts (see list_accounts)", ErrUnknownAccount, id)
	}
	return a, nil
}
