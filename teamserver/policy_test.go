package teamserver

import (
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

const designPolicy = `
rules:
  - match: {groups: platform-admins}
  - match: {groups: payments-oncall}
    tags: {team: payments}
    read_only: true
  - match: {email: "*@example.com"}
    ou: Root/Workloads/Dev
    accounts: ["dev-*"]
  - match: {"cognito:groups": [auditors, security-*], email_verified: "true"}
    read_only: true
`

var estate = []accounts.Account{
	{ID: "100000000001", Name: "prod-payments", OUPath: "Root/Workloads/Prod", Tags: map[string]string{"team": "payments"}},
	{ID: "100000000002", Name: "prod-web", OUPath: "Root/Workloads/Prod", Tags: map[string]string{"team": "web"}},
	{ID: "100000000003", Name: "dev-payments", OUPath: "Root/Workloads/Dev", Tags: map[string]string{"team": "payments"}},
	{ID: "100000000004", Name: "sandbox", OUPath: "Root/Workloads/Dev"},
}

func TestPolicyScopes(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(designPolicy))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims Claims
		// want maps reachable account ids to "ro" or "rw"
		want map[string]string
	}{
		{"admin", Claims{"groups": []any{"platform-admins"}}, map[string]string{"100000000001": "rw", "100000000002": "rw", "100000000003": "rw", "100000000004": "rw"}},
		{"on-call, read-only payments", Claims{"groups": []any{"payments-oncall", "other"}}, map[string]string{"100000000001": "ro", "100000000003": "ro"}},
		{"employee, dev accounts by name glob", Claims{"email": "dana@example.com"}, map[string]string{"100000000003": "rw"}},
		{"employee and on-call: the union, most permissive per account", Claims{"email": "dana@example.com", "groups": "payments-oncall"}, map[string]string{"100000000001": "ro", "100000000003": "rw"}},
		{"cognito group glob, every claim of a match must hold", Claims{"cognito:groups": []any{"security-team"}, "email_verified": true}, map[string]string{"100000000001": "ro", "100000000002": "ro", "100000000003": "ro", "100000000004": "ro"}},
		{"one claim of two", Claims{"cognito:groups": []any{"auditors"}}, map[string]string{}},
		{"other domain", Claims{"email": "eve@example.org"}, map[string]string{}},
		{"no claims", Claims{}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scope, _ := p.ScopeFor(tt.claims)
			got := map[string]string{}
			for _, a := range estate {
				if acc, ok := scope.Access(a); ok {
					got[a.ID] = map[bool]string{true: "ro", false: "rw"}[acc.ReadOnly]
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("reaches %v, want %v", got, tt.want)
			}
			for id, mode := range tt.want {
				if got[id] != mode {
					t.Errorf("account %s: %q, want %q (all %v)", id, got[id], mode, got)
				}
			}
		})
	}
}

func TestPolicyGrantsChangesPerCallerAndSelection(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(`
rules:
  - match: {groups: readers}
    read_only: true
  - match: {groups: payments-release}
    tags: {team: payments}
    allow_changes: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowsChanges() {
		t.Error("AllowsChanges = false with an allow_changes rule")
	}
	if q, _ := ParsePolicy([]byte(designPolicy)); q.AllowsChanges() {
		t.Error("AllowsChanges = true without an allow_changes rule")
	}
	tests := []struct {
		name   string
		claims Claims
		want   map[string]bool // reachable account → may change
	}{
		{"release engineer", Claims{"groups": "payments-release"}, map[string]bool{"100000000001": true, "100000000003": true}},
		{"reader", Claims{"groups": "readers"}, map[string]bool{"100000000001": false, "100000000002": false, "100000000003": false, "100000000004": false}},
		{"both: changes where the release rule reaches", Claims{"groups": []any{"readers", "payments-release"}},
			map[string]bool{"100000000001": true, "100000000002": false, "100000000003": true, "100000000004": false}},
	}
	for _, tt := range tests {
		scope, _ := p.ScopeFor(tt.claims)
		for _, a := range estate {
			acc, ok := scope.Access(a)
			change, want := tt.want[a.ID]
			if ok != want || acc.AllowChanges != change || (acc.AllowChanges && acc.ReadOnly) {
				t.Errorf("%s, account %s: reached %v, access %+v; want reached %v, changes %v", tt.name, a.ID, ok, acc, want, change)
			}
		}
	}
}

func TestPolicyRejectsBadFiles(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"rules: []":                 "no rules",
		"rules:\n  - accounts: [x]": "match is empty",
		"rules:\n  - match: {groups: a}\n    acounts: [x]":                                  "acounts",
		`{"rules": [{"match": {"sub": "a"}, "tags": {"": "x"}}]}`:                           "empty tag key",
		`{"rules": [{"match": {"sub": "a"}, "unknown": 1}]}`:                                "unknown",
		"rules:\n  - match: {groups: a}\n    accounts: ['[']":                               "bad glob",
		"rules:\n  - match: {groups: a}\n    read_only: true\n    allow_write_fanout: true": "contradict",
		"rules:\n  - match: {groups: a}\n    read_only: true\n    allow_changes: true":      "read_only and allow_changes contradict",
		"rules:\n  - match: {groups: {nested: x}}":                                          "string or a list",
	}
	for doc, want := range tests {
		if _, err := ParsePolicy([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", doc, err, want)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*@example.com", "a@example.com", true},
		{"*@example.com", "a@example.com.evil", false},
		{"team/*", "team/a/b", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*", "", true},
		{"**a", "bba", true},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

// TestPolicyMatchesMachineCallers: a rule can match a client_id, or one of
// the token's space-separated scopes.
func TestPolicyMatchesMachineCallers(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte("rules:\n  - match: {client_id: m2m-*}\n    accounts: [dev-payments]\n  - match: {scope: ops/admin}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims Claims
		n      int
	}{
		{"a machine client", Claims{"client_id": "m2m-reporting"}, 1},
		{"the admin scope among others", Claims{"scope": "openid ops/admin profile"}, len(estate)},
		{"a scope that only contains it", Claims{"scope": "ops/admin-lite"}, 0},
		{"neither", Claims{"client_id": "web", "scope": "openid"}, 0},
	}
	for _, tt := range tests {
		scope, _ := p.ScopeFor(tt.claims)
		got := 0
		for _, a := range estate {
			if _, ok := scope.Access(a); ok {
				got++
			}
		}
		if got != tt.n {
			t.Errorf("%s: %d accounts, want %d", tt.name, got, tt.n)
		}
	}
}
