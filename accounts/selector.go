package accounts

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Selector narrows a set of accounts. Its fields AND together; an empty
// field does not narrow.
type Selector struct {
	// Accounts are account ids or name globs ("prod-*"); an account matches
	// when any entry matches its id or name.
	Accounts []string `json:"accounts,omitempty"`
	// Tags must all be present on the account with these exact values.
	Tags map[string]string `json:"tags,omitempty"`
	// OU is an OU id ("ou-ab12-cdef3456", the account's parent) or an OU
	// path prefix ("Root/Workloads" selects "Root/Workloads/Prod").
	OU string `json:"ou,omitempty"`
}

// IsZero reports whether the selector selects everything.
func (s Selector) IsZero() bool {
	return len(s.Accounts) == 0 && len(s.Tags) == 0 && s.OU == ""
}

// Validate checks the selector's patterns.
func (s Selector) Validate() error {
	for _, p := range s.Accounts {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("accounts: empty entry")
		}
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return fmt.Errorf("accounts: bad glob %q: %w", p, err)
		}
	}
	for k := range s.Tags {
		if k == "" {
			return fmt.Errorf("tags: empty tag key")
		}
	}
	return nil
}

// Match reports whether the account satisfies every field of the selector.
func (s Selector) Match(a Account) bool {
	return s.matchAccounts(a) && s.matchTags(a) && s.matchOU(a)
}

func (s Selector) matchAccounts(a Account) bool {
	if len(s.Accounts) == 0 {
		return true
	}
	name := strings.ToLower(a.Name)
	for _, p := range s.Accounts {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == a.ID || p == name {
			return true
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
		if ok, _ := path.Match(p, a.ID); ok {
			return true
		}
	}
	return false
}

func (s Selector) matchTags(a Account) bool {
	for k, v := range s.Tags {
		got, ok := a.Tags[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

func (s Selector) matchOU(a Account) bool {
	if s.OU == "" {
		return true
	}
	ou := strings.TrimSuffix(strings.TrimSpace(s.OU), "/")
	if strings.HasPrefix(ou, "ou-") || strings.HasPrefix(ou, "r-") {
		return a.OUID == ou
	}
	return a.OUPath == ou || strings.HasPrefix(a.OUPath, ou+"/")
}

// String describes the selector for error messages.
func (s Selector) String() string {
	var parts []string
	if len(s.Accounts) > 0 {
		parts = append(parts, fmt.Sprintf("accounts=%s", strings.Join(s.Accounts, ",")))
	}
	if len(s.Tags) > 0 {
		keys := make([]string, 0, len(s.Tags))
		for k := range s.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tags := make([]string, len(keys))
		for i, k := range keys {
			tags[i] = k + "=" + s.Tags[k]
		}
		parts = append(parts, "tags="+strings.Join(tags, ","))
	}
	if s.OU != "" {
		parts = append(parts, "ou="+s.OU)
	}
	if len(parts) == 0 {
		return "all accounts"
	}
	return strings.Join(parts, " AND ")
}

// Select returns the accounts that match s, in their original order. An
// empty result is ErrEmptySelection, naming the selector.
func Select(all []Account, s Selector) ([]Account, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	for _, p := range s.Accounts {
		if id := strings.TrimSpace(p); ValidID(id) && !containsID(all, id) {
			return nil, fmt.Errorf("%w: %s is not one of the configured accounts (selector accounts)", ErrUnknownAccount, id)
		}
	}
	out := make([]Account, 0, len(all))
	for _, a := range all {
		if s.Match(a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s (of %d configured accounts)", ErrEmptySelection, s, len(all))
	}
	return out, nil
}

func containsID(all []Account, id string) bool {
	for _, a := range all {
		if a.ID == id {
			return true
		}
	}
	return false
}
