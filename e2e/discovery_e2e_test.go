package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// TestOrganizationsSourceEndToEnd discovers ~300 accounts through the fake
// Organizations API and targets subsets of them.
func TestOrganizationsSourceEndToEnd(t *testing.T) {
	t.Parallel()
	org := fakeaws.GenerateOrg(340)
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Org: org})
	t.Cleanup(stack.Close)
	p := startProxy(t, stack, []string{"AWS_MCP_ORG=true"}, "--exclude", "sandbox-*")

	active, workloads, prodWeb := 0, 0, 0
	for _, a := range org {
		if a.State != "ACTIVE" || strings.HasPrefix(a.Name, "sandbox-") {
			continue
		}
		active++
		if strings.HasPrefix(a.OUPath, "Root/Workloads") {
			workloads++
		}
		if a.Tags["env"] == "prod" && a.Tags["team"] == "web" {
			prodWeb++
		}
	}
	type listing struct {
		Accounts []struct {
			ID, Name, Source string
			OUPath           string            `json:"ou_path"`
			OUID             string            `json:"ou_id"`
			Tags             map[string]string `json:"tags"`
		}
		Count int
	}
	var all listing
	structured(t, p.call(t, "list_accounts", nil), &all)
	if all.Count != active || active < 250 {
		t.Fatalf("list_accounts returned %d accounts, want %d ACTIVE non-sandbox ones", all.Count, active)
	}
	for _, a := range all.Accounts {
		if a.Source != "organizations" || !strings.HasPrefix(a.OUPath, "Root") || a.OUID == "" {
			t.Errorf("account %+v lacks its organizations metadata", a)
			break
		}
	}

	var sel listing
	structured(t, p.call(t, "list_accounts", map[string]any{"ou": "Root/Workloads"}), &sel)
	if sel.Count != workloads {
		t.Errorf("ou Root/Workloads selected %d, want %d", sel.Count, workloads)
	}
	structured(t, p.call(t, "list_accounts", map[string]any{"tags": map[string]string{"env": "prod", "team": "web"}}), &sel)
	if sel.Count != prodWeb {
		t.Errorf("tags env=prod,team=web selected %d, want %d", sel.Count, prodWeb)
	}

	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity,
		"ou": stack.Org.OUID("Root/Workloads/Prod/Payments")})
	var out queryAllOutput
	structured(t, res, &out)
	if out.Summary.Total == 0 || out.Summary.Failed != 0 {
		t.Errorf("query_all by OU id: %+v %s", out.Summary, text(res))
	}
	for _, r := range out.Results {
		if callerAccount(t, r.Data) != r.AccountID {
			t.Errorf("entry %s carries another account's answer", r.AccountID)
		}
	}

	before := stack.MCP.CallCount("") + stack.STS.AssumeRoleCount("")
	res = p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "tags": map[string]string{"env": "nowhere"}})
	if !res.IsError || !strings.Contains(text(res), "env=nowhere") {
		t.Errorf("an empty selection: %v %s", res.IsError, text(res))
	}
	if after := stack.MCP.CallCount("") + stack.STS.AssumeRoleCount(""); after != before {
		t.Errorf("an empty selection made %d calls", after-before)
	}
	p.stop(t)
	p.stdout.check(t)
}

// TestAccountsTimesRegions fans out over 20 accounts × 3 regions.
func TestAccountsTimesRegions(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 20)
	p := startProxy(t, stack, []string{accountsEnv(stack)})
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "regions": regions})
	var out queryAllOutput
	structured(t, res, &out)
	if len(out.Results) != 60 || out.Summary.Succeeded != 60 {
		t.Fatalf("%d results, summary %+v", len(out.Results), out.Summary)
	}
	seen := map[string]bool{}
	for _, r := range out.Results {
		seen[r.AccountID+"/"+r.Region] = true
		if !slices.Contains(regions, r.Region) {
			t.Errorf("entry region %q", r.Region)
		}
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct (account, region) pairs, want 60", len(seen))
	}
	upstream := map[string]bool{}
	for _, c := range stack.MCP.Calls() {
		upstream[c.Account+"/"+c.Region] = true
	}
	if len(upstream) != 60 {
		t.Errorf("upstream saw %d distinct (account, _meta.AWS_REGION) pairs, want 60", len(upstream))
	}
	for _, a := range stack.Accounts {
		if n := stack.STS.AssumeRoleCount(a.ID); n != 1 {
			t.Errorf("account %s: %d AssumeRole calls for 3 regions, want 1", a.ID, n)
		}
	}
	for _, bad := range []any{[]string{"us-east-1", "moon-base-1"}, []string{"us-east-1\r\nX-Injected: 1"}, "../../etc"} {
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___list_regions", "regions": bad})
		if !res.IsError || !strings.Contains(text(res), "not a valid AWS region") {
			t.Errorf("regions %q: %v %s", bad, res.IsError, text(res))
		}
	}
	p.stop(t)
}

// TestWriteGuard checks query_all refuses write tools unless allowed.
func TestWriteGuard(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 4)
	p := startProxy(t, stack, []string{accountsEnv(stack)})
	refused := []map[string]any{
		{"tool_name": "aws___put_thing", "arguments": map[string]any{"name": "x"}},
		{"tool_name": "aws___call_aws", "arguments": map[string]any{"cli_command": "aws ec2 terminate-instances --instance-ids i-1"}},
		{"tool_name": "aws___call_aws", "arguments": map[string]any{"cli_command": "aws ec2 terminate-instances --instance-ids i-1", "CLI_COMMAND": "aws s3 ls"}},
	}
	for _, args := range refused {
		res := p.call(t, "query_all", args)
		if !res.IsError || !strings.Contains(text(res), "--allow-write-fanout") {
			t.Errorf("%v: want a refusal naming --allow-write-fanout, got %v %s", args, res.IsError, text(res))
		}
	}
	if n := stack.MCP.CallCount(""); n != 0 {
		t.Errorf("refused fan-outs made %d upstream tool calls", n)
	}
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": map[string]any{"cli_command": "aws s3api list-buckets"}})
	if res.IsError {
		t.Errorf("list-buckets was refused: %s", text(res))
	}
	p.stop(t)

	p = startProxy(t, stack, []string{accountsEnv(stack)}, "--allow-write-fanout")
	before := stack.MCP.CallCount("")
	res = p.call(t, "query_all", refused[0])
	var out queryAllOutput
	structured(t, res, &out)
	if res.IsError || out.Summary.Succeeded != 4 || stack.MCP.CallCount("")-before != 4 {
		t.Errorf("with --allow-write-fanout the write tool did not run everywhere: %s", text(res))
	}
	p.stop(t)
}

// TestReadOnlyMode checks the session policy and the refusal of writes.
func TestReadOnlyMode(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 3)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_READ_ONLY=true"})
	acct := stack.Accounts[0].ID

	res := p.call(t, "query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws",
		"arguments": map[string]any{"cli_command": "aws ec2 terminate-instances --instance-ids i-1"}})
	if !res.IsError || !strings.Contains(text(res), "read-only mode") {
		t.Errorf("a write command in read-only mode: %v %s", res.IsError, text(res))
	}
	if stack.STS.AssumeRoleCount("") != 0 || stack.MCP.CallCount("") != 0 {
		t.Errorf("the refused write made network calls (%d AssumeRole, %d upstream)", stack.STS.AssumeRoleCount(""), stack.MCP.CallCount(""))
	}
	res = p.call(t, "query", map[string]any{"account_id": acct, "tool_name": "aws___put_thing", "arguments": map[string]any{"name": "x"}})
	if !res.IsError || stack.MCP.CallCount("") != 0 {
		t.Errorf("a write tool in read-only mode: %v %s (%d upstream calls)", res.IsError, text(res), stack.MCP.CallCount(""))
	}

	res = p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	if res.IsError {
		t.Fatalf("a read in read-only mode failed: %s", text(res))
	}
	// One read-only session for query (it listed the upstream tools to
	// refuse put_thing), and one fan-out session per account: read-only
	// and without secret reads.
	calls := stack.STS.Calls()
	if len(calls) != 4 {
		t.Errorf("%d AssumeRole calls, want 4", len(calls))
	}
	for _, c := range calls {
		if !slices.Equal(c.PolicyARNs, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) {
			t.Errorf("AssumeRole for %s carried session policies %v", c.Account, c.PolicyARNs)
		}
	}
	tools, _ := p.client.ListTools(t.Context(), mcpListTools())
	for _, tool := range tools.Tools {
		if tool.Name == "query" && !strings.Contains(tool.Description, "Read-only mode is on") {
			t.Errorf("query's description does not say read-only mode is on: %s", tool.Description)
		}
	}
	p.stop(t)
}

// TestProfilesSource uses local AWS config profiles instead of AssumeRole.
func TestProfilesSource(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 0)
	profiles := map[string]string{"prod-a": "700000000001", "prod-b": "700000000002", "dev-c": "700000000003"}
	var cfgFile strings.Builder
	for name, acct := range profiles {
		cred := fakeaws.Credential{AccessKeyID: "AKIAPROFILE" + acct[7:], SecretAccessKey: "secret-" + name, Account: acct,
			Principal: "arn:aws:iam::" + acct + ":user/" + name}
		stack.Keys.Add(cred)
		fmt.Fprintf(&cfgFile, "[profile %s]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = us-east-1\n\n", name, cred.AccessKeyID, cred.SecretAccessKey)
	}
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(cfgFile.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, stack, []string{"AWS_CONFIG_FILE=" + path, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}, "--profiles", "prod-*")

	var list struct {
		Accounts []struct{ ID, Name, Source, Profile string }
		Count    int
	}
	structured(t, p.call(t, "list_accounts", nil), &list)
	if list.Count != 2 || list.Accounts[0].Name != "prod-a" || list.Accounts[1].Name != "prod-b" ||
		list.Accounts[0].ID != "700000000001" || list.Accounts[0].Source != "profile" {
		t.Fatalf("list_accounts = %+v, want prod-a and prod-b from profiles", list)
	}
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	var out queryAllOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 2 {
		t.Fatalf("query_all: %s", text(res))
	}
	for _, c := range stack.MCP.Calls() {
		if c.AccessKeyID != "AKIAPROFILE"+c.Account[7:] {
			t.Errorf("account %s signed with %s, not its profile's key", c.Account, c.AccessKeyID)
		}
	}
	if n := stack.STS.AssumeRoleCount(""); n != 0 {
		t.Errorf("profiles made %d AssumeRole calls, want 0", n)
	}
	p.stop(t)
}

// TestSecretReadsDoNotFanOut: query_all refuses reads whose answer is a
// secret, naming the operation and the flag, even with write fan-out
// allowed; query in one account may still run them; the flag lifts it.
func TestSecretReadsDoNotFanOut(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 4)
	secret := map[string]any{"cli_command": "aws --region eu-west-1 SecretsManager get-secret-value --secret-id prod/db"}
	decrypt := map[string]any{"CLI_Command": "aws ssm get-parameters-by-path --path / --with-decryption"}
	p := startProxy(t, stack, []string{accountsEnv(stack)}, "--allow-write-fanout")
	for _, args := range []map[string]any{secret, decrypt} {
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": args})
		if !res.IsError || !strings.Contains(text(res), "--allow-secret-fanout") || !strings.Contains(text(res), "does not fan out") {
			t.Errorf("%v: want a refusal naming the operation and --allow-secret-fanout, got %s", args, text(res))
		}
	}
	if !strings.Contains(text(p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": secret})), "secretsmanager get-secret-value") {
		t.Error("the refusal does not name the operation")
	}
	if n := stack.MCP.CallCount(""); n != 0 {
		t.Errorf("refused fan-outs made %d upstream calls", n)
	}
	res := p.call(t, "query", map[string]any{"account_id": stack.Accounts[0].ID, "tool_name": "aws___call_aws", "arguments": secret})
	if res.IsError || stack.MCP.CallCount("") != 1 {
		t.Errorf("query in one account was refused: %s", text(res))
	}
	p.stop(t)

	p = startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_ALLOW_SECRET_FANOUT=true"})
	res = p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": secret})
	var out queryAllOutput
	structured(t, res, &out)
	if res.IsError || out.Summary.Succeeded != 4 {
		t.Errorf("with AWS_MCP_ALLOW_SECRET_FANOUT the read did not fan out: %s", text(res))
	}
	p.stop(t)
}
