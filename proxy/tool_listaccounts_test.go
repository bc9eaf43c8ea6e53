package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// orgOf returns n accounts in 8 OUs with tags env (4 values), team (5)
// and a unique email, and two delegated administrators.
func orgOf(n int) accounts.Static {
	envs, teams := []string{"prod", "dev", "staging", "sandbox"}, []string{"web", "data", "payments", "ml", "platform"}
	out := make(accounts.Static, n)
	for i := range out {
		out[i] = accounts.Account{
			ID: fmt.Sprintf("7%011d", i+1), Name: fmt.Sprintf("%s-%s-%05d", envs[i%4], teams[i%5], i+1), Source: accounts.SourceFile,
			OUPath: fmt.Sprintf("Root/Workloads/OU%d", i%8),
			Tags:   map[string]string{"env": envs[i%4], "team": teams[i%5], "email": fmt.Sprintf("aws+%05d@example.com", i+1)},
		}
	}
	out[3].DelegatedAdminFor = []string{"guardduty.amazonaws.com", "securityhub.amazonaws.com"}
	out[n-1].DelegatedAdminFor = []string{"resource-explorer-2.amazonaws.com"}
	return out
}

// TestListAccountsAtScale: 10,000 accounts answer within the budget, the
// summary counts them all, paging reaches every one in order in a few
// dozen calls, and a selector narrows to exactly its accounts.
func TestListAccountsAtScale(t *testing.T) {
	const n = 10000
	dir, err := accounts.NewDirectory(nil, orgOf(n))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{}, dir, nil, nil, nil)
	ctx := context.Background()
	page := func(args string) (*AccountList, int) {
		t.Helper()
		out, err := s.runListAccounts(ctx, json.RawMessage(args))
		if err != nil {
			t.Fatal(err)
		}
		return out, len(results.Marshal(out))
	}

	first, size := page(`{}`)
	if size > results.DefaultBudget || first.Summary.Total != n || first.Count != n || first.NextOffset == 0 {
		t.Fatalf("first page: %d bytes (budget %d), total %d, count %d, next %d", size, results.DefaultBudget, first.Summary.Total, first.Count, first.NextOffset)
	}
	sum := first.Summary
	if sum.ByTag["env=prod"] != n/4 || sum.ByTag["team=web"] != n/5 || sum.BySource["file"] != n || sum.ByOU["Root/Workloads/OU0"] != n/8 || sum.TagKeys["email"] != n {
		t.Errorf("summary counts: %+v", sum)
	}
	for tag := range sum.ByTag {
		if strings.HasPrefix(tag, "email=") {
			t.Errorf("a one-account tag value in the summary: %s", tag)
		}
	}
	if len(sum.DelegatedAdministrators) != 2 || sum.DelegatedAdministrators[0].AccountID != "700000000004" ||
		!strings.Contains(first.Note, "delegated") || !strings.Contains(first.Note, fmt.Sprintf(`"offset": %d`, first.NextOffset)) {
		t.Errorf("delegated administrators %+v, note %q", sum.DelegatedAdministrators, first.Note)
	}

	seen := map[string]bool{}
	pages := 0
	for out, offset := first, 0; ; {
		pages++
		for i, a := range out.Accounts {
			if want := fmt.Sprintf("7%011d", offset+i+1); a.ID != want || seen[a.ID] {
				t.Fatalf("page at %d, item %d: %s, want %s once", offset, i, a.ID, want)
			}
			seen[a.ID] = true
		}
		if out.NextOffset == 0 {
			break
		}
		offset = out.NextOffset
		if out, size = page(fmt.Sprintf(`{"offset": %d}`, offset)); size > results.DefaultBudget {
			t.Fatalf("page at %d: %d bytes", offset, size)
		}
	}
	if len(seen) != n || pages > 60 {
		t.Errorf("%d accounts in %d pages, want all %d in a few dozen", len(seen), pages, n)
	}
	t.Logf("10,000 accounts: first page %d bytes with %d accounts; %d pages in all", len(results.Marshal(first)), len(first.Accounts), pages)

	narrowed, _ := page(`{"tags": {"team": "payments", "env": "prod"}, "max_bytes": 1048576}`)
	if narrowed.Count != n/20 || len(narrowed.Accounts) != n/20 || narrowed.NextOffset != 0 {
		t.Fatalf("tags: %d of %d listed, next %d", len(narrowed.Accounts), narrowed.Count, narrowed.NextOffset)
	}
	for _, a := range narrowed.Accounts {
		if a.Tags["team"] != "payments" || a.Tags["env"] != "prod" {
			t.Fatalf("tags selected %+v", a)
		}
	}
	for _, bad := range []string{`{"offset": -1}`, `{"offset": 10001}`, `{"offset": "x"}`} {
		if _, err := s.runListAccounts(ctx, json.RawMessage(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestDelegatedAdvice: a fan-out over several accounts of a script that
// calls an organization-wide service names its reachable delegated
// administrator; other services, one account, or none known: no advice.
func TestDelegatedAdvice(t *testing.T) {
	reach := orgOf(10)
	script := func(code string) json.RawMessage { b, _ := json.Marshal(map[string]string{"code": code}); return b }
	cases := []struct {
		name     string
		tool     string
		args     json.RawMessage
		selected int
		want     string
	}{
		{"security hub script", RunScriptTool, script("r = await call_boto3(service_name='securityhub', operation_name='GetFindings')\nr"), 10, "700000000004 (sandbox-ml-00004) is the organization's delegated administrator for securityhub.amazonaws.com"},
		{"double quotes and spaces", RunScriptTool, script(`await call_boto3(service_name = "resource-explorer-2", operation_name="Search")`), 10, "700000000010"},
		{"CLI command", CallAWSTool, json.RawMessage(`{"cli_command":"aws guardduty list-detectors"}`), 10, "guardduty.amazonaws.com"},
		{"no such administrator", RunScriptTool, script("await call_boto3(service_name='macie2', operation_name='ListFindings')"), 10, ""},
		{"not organization-wide", RunScriptTool, script("await call_boto3(service_name='s3', operation_name='ListBuckets')"), 10, ""},
		{"one account", RunScriptTool, script("await call_boto3(service_name='securityhub', operation_name='GetFindings')"), 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(delegatedAdvice(tc.tool, tc.args, reach, tc.selected), " ")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("advice %q, want %q", got, tc.want)
			}
		})
	}
}
