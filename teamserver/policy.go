package teamserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// Policy maps token claims to the accounts a caller may reach. A caller's
// scope is the union of the rules whose match holds; no rule, no account.
type Policy struct {
	Rules []Rule `json:"rules" yaml:"rules"`
}

// Rule grants the accounts its selectors select to the callers its match
// admits. Within match, every claim must match (a list-valued claim
// matches when any element does; values are exact or globs with * and ?);
// the selectors AND together as in query_all, and a rule without selectors
// reaches every account.
type Rule struct {
	Match    map[string]Patterns `json:"match" yaml:"match"`
	Accounts []string            `json:"accounts,omitempty" yaml:"accounts,omitempty"`
	Tags     map[string]string   `json:"tags,omitempty" yaml:"tags,omitempty"`
	OU       string              `json:"ou,omitempty" yaml:"ou,omitempty"`
	// ReadOnly makes the access read-only, as --read-only does: a
	// read-only session policy on AssumeRole, and write tools refused.
	ReadOnly bool `json:"read_only,omitempty" yaml:"read_only,omitempty"`
	// AllowWriteFanout lets query_all fan out tools that are not read-only.
	AllowWriteFanout bool `json:"allow_write_fanout,omitempty" yaml:"allow_write_fanout,omitempty"`
	// AllowChanges offers change_all and apply_change in the accounts the
	// rule selects (where the caller's access is not read-only).
	AllowChanges bool `json:"allow_changes,omitempty" yaml:"allow_changes,omitempty"`
}

// Patterns are the values a claim may match: one, or a list of which any
// may.
type Patterns []string

// UnmarshalJSON accepts a string or a list of strings.
func (p *Patterns) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*p = Patterns{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("a match value must be a string or a list of strings")
	}
	*p = many
	return nil
}

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (p *Patterns) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = Patterns{n.Value}
		return nil
	case yaml.SequenceNode:
		var many []string
		if err := n.Decode(&many); err != nil {
			return err
		}
		*p = many
		return nil
	}
	return fmt.Errorf("line %d: a match value must be a string or a list of strings", n.Line)
}

// LoadPolicy reads an access policy file (YAML or JSON). Unknown keys,
// empty matches and bad selectors are errors.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("access policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("access policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy parses an access policy document.
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
	}
	if len(p.Rules) == 0 {
		return nil, errors.New("no rules: every caller would reach no account")
	}
	for i, r := range p.Rules {
		if len(r.Match) == 0 {
			return nil, fmt.Errorf("rule %d: match is empty (name at least one claim, e.g. {groups: platform-admins})", i+1)
		}
		for claim, patterns := range r.Match {
			if claim == "" || len(patterns) == 0 {
				return nil, fmt.Errorf("rule %d: match %q needs a claim name and a value", i+1, claim)
			}
		}
		if err := r.selector().Validate(); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		if r.ReadOnly && r.AllowWriteFanout {
			return nil, fmt.Errorf("rule %d: read_only and allow_write_fanout contradict each other", i+1)
		}
		if r.ReadOnly && r.AllowChanges {
			return nil, fmt.Errorf("rule %d: read_only and allow_changes contradict each other", i+1)
		}
	}
	return &p, nil
}

func (r Rule) selector() accounts.Selector {
	return accounts.Selector{Accounts: r.Accounts, Tags: r.Tags, OU: r.OU}
}

// matches reports whether every claim of the rule's match holds.
func (r Rule) matches(c Claims) bool {
	for name, patterns := range r.Match {
		v := claimValue(c, name)
		if name == "scope" || name == "scp" {
			// One scope matches, as an element of a list claim does.
			var scopes []any
			for _, s := range c.Scopes() {
				scopes = append(scopes, s)
			}
			v = scopes
		}
		if !claimMatches(v, patterns) {
			return false
		}
	}
	return true
}

// claimValue finds a claim by name, or by a dotted path into nested
// objects ("realm_access.roles").
func claimValue(c Claims, name string) any {
	if v, ok := c[name]; ok {
		return v
	}
	var cur any = map[string]any(c)
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func claimMatches(v any, patterns Patterns) bool {
	switch val := v.(type) {
	case []any:
		for _, item := range val {
			if claimMatches(item, patterns) {
				return true
			}
		}
		return false
	case nil:
		return false
	}
	s := fmt.Sprint(v)
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against a pattern where * is any run of characters
// (slashes included) and ? any one character.
func glob(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ScopeFor returns the scope of a caller with these claims, and how many
// rules matched.
func (p *Policy) ScopeFor(c Claims) (proxy.Scope, int) {
	var matched []Rule
	for _, r := range p.Rules {
		if r.matches(c) {
			matched = append(matched, r)
		}
	}
	return ruleScope(matched), len(matched)
}

// AllowsChanges reports whether any rule allows changes: the team server
// then offers change_all and apply_change to the callers it reaches.
func (p *Policy) AllowsChanges() bool {
	for _, r := range p.Rules {
		if r.AllowChanges {
			return true
		}
	}
	return false
}

// ruleScope is the union of the rules a caller matched.
type ruleScope []Rule

// Access is the most the caller's rules grant in the account: reachable
// when any rule selects it; read-only unless a rule that selects it is
// not; write fan-out when a rule that selects it allows it.
func (s ruleScope) Access(a accounts.Account) (proxy.Access, bool) {
	acc := proxy.Access{ReadOnly: true}
	reached := false
	for _, r := range s {
		if !r.selector().Match(a) {
			continue
		}
		reached = true
		acc.ReadOnly = acc.ReadOnly && r.ReadOnly
		acc.AllowWriteFanout = acc.AllowWriteFanout || r.AllowWriteFanout
		acc.AllowChanges = acc.AllowChanges || r.AllowChanges
	}
	if !reached {
		return proxy.Access{}, false
	}
	return acc, true
}

// everything is the scope without an access policy: every account, as
// configured.
type everything struct{}

// Changes follow the process (--allow-changes).
func (everything) Access(accounts.Account) (proxy.Access, bool) {
	return proxy.Access{AllowChanges: true}, true
}
