package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// orgMap is what list_accounts says of the organization.
type orgMap struct {
	Summary struct {
		Total                   int `json:"total"`
		DelegatedAdministrators []struct {
			AccountID string   `json:"account_id"`
			Services  []string `json:"services"`
		} `json:"delegated_administrators"`
	} `json:"summary"`
	Note     string   `json:"note"`
	Warnings []string `json:"warnings"`
	Accounts []struct {
		ID                string   `json:"id"`
		DelegatedAdminFor []string `json:"delegated_admin_for"`
	} `json:"accounts"`
	Count int `json:"count"`
}

// TestDelegatedAdministrators: with --org, list_accounts names the
// organization's delegated administrators with their service principals
// (in the summary and on the account), the tools tell the model to ask
// there, and a fan-out of a Security Hub script is told which account
// answers for the organization. With the two calls denied, every account
// is still listed and one warning says why.
func TestDelegatedAdministrators(t *testing.T) {
	t.Parallel()
	org := fakeaws.GenerateOrg(60)
	active := 0
	for _, a := range org {
		if a.State == "ACTIVE" {
			active++
		}
	}
	const security = "500000000005" // GenerateOrg's security account

	t.Run("listed", func(t *testing.T) {
		t.Parallel()
		stack := fakeaws.Start(fakeaws.Options{Org: org})
		t.Cleanup(stack.Close)
		p := startProxy(t, stack, []string{"AWS_MCP_ORG=true"})
		var m orgMap
		structured(t, p.call(t, "list_accounts", nil), &m)
		admins := map[string][]string{}
		for _, a := range m.Summary.DelegatedAdministrators {
			admins[a.AccountID] = a.Services
		}
		if !slices.Equal(admins[security], fakeaws.SecurityDelegations) || !slices.Equal(admins["500000000006"], []string{"resource-explorer-2.amazonaws.com"}) || len(admins) != 2 {
			t.Errorf("delegated administrators %v", admins)
		}
		for _, a := range m.Accounts {
			if a.ID == security && !slices.Equal(a.DelegatedAdminFor, fakeaws.SecurityDelegations) {
				t.Errorf("the security account's item: %v", a.DelegatedAdminFor)
			}
		}
		if m.Count != active || len(m.Warnings) != 0 || !strings.Contains(m.Note, "delegated administrator") {
			t.Errorf("count %d (want %d), warnings %q, note %q", m.Count, active, m.Warnings, m.Note)
		}
		tools := p.listTools(t)
		for _, name := range []string{"list_accounts", "query_all"} {
			if !strings.Contains(tools[name], "delegated administrator") {
				t.Errorf("%s's description does not tell the model to ask the delegated administrator: %s", name, tools[name])
			}
		}

		code := "resp = await call_boto3(service_name='securityhub', operation_name='GetFindings', params={'MaxResults': 100})\nresp"
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(code), "ou": "Root/Workloads"})
		var out struct {
			Note string `json:"note"`
		}
		structured(t, res, &out)
		if !strings.Contains(out.Note, security) || !strings.Contains(out.Note, "delegated administrator for securityhub.amazonaws.com") {
			t.Errorf("query_all of a Security Hub script: note %q", out.Note)
		}
		if calls := stack.Org.Calls(); calls["ListDelegatedAdministrators"] != 1 || calls["ListDelegatedServicesForAccount"] != 2 {
			t.Errorf("delegated-administrator calls: %v (want one list and one per administrator, cached with the accounts)", calls)
		}
	})

	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		stack := fakeaws.Start(fakeaws.Options{Org: org})
		t.Cleanup(stack.Close)
		stack.Org.DenyDelegatedAdmins(true)
		p := startProxy(t, stack, []string{"AWS_MCP_ORG=true"})
		var m orgMap
		res := p.call(t, "list_accounts", map[string]any{"max_bytes": 256 << 10})
		structured(t, res, &m)
		if res.IsError || m.Count != active || len(m.Accounts) != active || len(m.Summary.DelegatedAdministrators) != 0 {
			t.Fatalf("with the calls denied: count %d of %d, %d administrators: %.300s", m.Count, active, len(m.Summary.DelegatedAdministrators), text(res))
		}
		if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "ListDelegatedAdministrators") {
			t.Errorf("warnings %q, want one naming the denied call", m.Warnings)
		}
		for _, a := range m.Accounts {
			if len(a.DelegatedAdminFor) != 0 {
				t.Errorf("account %s names delegations though none could be read", a.ID)
			}
		}
	})
}

// listTools returns each advertised tool's description by name.
func (p *proc) listTools(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tool := range res.Tools {
		out[tool.Name] = tool.Description
	}
	return out
}
