package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// The IAM Identity Center tests run the binary in a home directory that
// holds only what `aws configure sso-session` and `aws sso login` write
// (an [sso-session corp] section and the token cache), with no profile
// and no base credentials, against the fake portal and SSO OIDC, through
// the real SDK clients.

const (
	ssoSession  = "corp"
	ssoStartURL = "https://corp.awsapps.com/start"
	ssoRegion   = "eu-west-1"
)

const listBucketsScript = "resp = await call_boto3(service_name='s3', operation_name='ListBuckets')\nresp"

// ssoHome signs in (a token valid for ttl) and returns the environment of
// a proxy that knows nothing else.
func ssoHome(t *testing.T, stack *fakeaws.Stack, ttl time.Duration) (home string, env []string) {
	t.Helper()
	home = t.TempDir()
	if err := fakeaws.WriteSSOLogin(home, ssoSession, ssoStartURL, ssoRegion, stack.SSO.IssueToken(ttl)); err != nil {
		t.Fatal(err)
	}
	return home, []string{"HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, ".aws", "config"),
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_MCP_SSO_SESSION=" + ssoSession, "AWS_MCP_ACCOUNT_RPS=0"}
}

// ssoAccountsOf decodes list_accounts.
type listedAccount struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Source      string            `json:"source"`
	SSORole     string            `json:"sso_role"`
	SSOReadOnly bool              `json:"sso_read_only"`
	Tags        map[string]string `json:"tags"`
}

func TestIdentityCenterAccountsAndCredentials(t *testing.T) {
	t.Parallel()
	portal := fakeaws.GenerateSSOAccounts(45)
	stack := fakeaws.Start(fakeaws.Options{SSO: portal})
	t.Cleanup(stack.Close)
	stack.SSO.Throttle(5) // the first five ListAccountRoles are throttled: no account is lost
	_, env := ssoHome(t, stack, time.Hour)
	p := startProxy(t, stack, env)

	res := p.call(t, "list_accounts", nil)
	var listed struct {
		Accounts []listedAccount `json:"accounts"`
		Warnings []string        `json:"warnings"`
	}
	structured(t, res, &listed)
	want := map[string]fakeaws.SSOAccount{}
	var leftOut []string
	for _, a := range portal {
		// By default only read-only permission sets are used.
		if !strings.Contains(strings.Join(a.Roles, ","), "ReadOnlyAccess") {
			leftOut = append(leftOut, a.ID)
			continue
		}
		want[a.ID] = a
	}
	if len(listed.Accounts) != len(want) || stack.SSO.Calls("ListAccounts") != 3 {
		t.Fatalf("%d accounts listed (want %d) through %d ListAccounts pages (want 3): %s", len(listed.Accounts), len(want), stack.SSO.Calls("ListAccounts"), text(res))
	}
	for _, a := range listed.Accounts {
		p, ok := want[a.ID]
		if !ok || a.Source != "sso" || a.Name != p.Name || a.Tags["email"] != p.Email {
			t.Errorf("account %+v, want %+v", a, p)
		}
		if a.SSORole != "ReadOnlyAccess" || !a.SSOReadOnly {
			t.Errorf("account %s signs with %q (read-only %v), want ReadOnlyAccess", a.ID, a.SSORole, a.SSOReadOnly)
		}
	}
	warned := strings.Join(listed.Warnings, "\n")
	for _, id := range leftOut {
		if !strings.Contains(warned, id) {
			t.Errorf("account %s (no role asked for) is not named as left out: %s", id, warned)
		}
	}
	if n := stack.SSO.Calls("ListAccountRoles"); n != len(portal)+5 {
		t.Errorf("%d ListAccountRoles calls, want one per account (%d) and the 5 throttled retried", n, len(portal))
	}

	// A fan-out of a script answers in every account, each signed by its
	// own role credentials.
	out := p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript), "max_bytes": 256 << 10})
	var fan queryAllOutput
	structured(t, out, &fan)
	if fan.Summary.Succeeded != len(want) {
		t.Errorf("query_all: %+v, want all %d accounts", fan.Summary, len(want))
	}
	for _, c := range stack.MCP.Calls() {
		if _, ok := want[c.Account]; !ok || !strings.Contains(c.Principal, "assumed-role/AWSReservedSSO_") {
			t.Errorf("an upstream call of %s signed by %s", c.Account, c.Principal)
		}
	}
	calls := stack.SSO.RoleCredentialCalls()
	for id := range want {
		if calls[id] != 1 {
			t.Errorf("account %s: %d GetRoleCredentials calls, want 1", id, calls[id])
		}
	}
	if n := stack.STS.AssumeRoleCount(""); n != 0 {
		t.Errorf("%d AssumeRole calls: IAM Identity Center accounts assume no role", n)
	}
	// A second fan-out asks the portal for nothing.
	before := stack.SSO.Calls("GetRoleCredentials")
	p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)})
	if n := stack.SSO.Calls("GetRoleCredentials") - before; n != 0 {
		t.Errorf("the second fan-out made %d GetRoleCredentials calls, want 0", n)
	}

	// A writing script executes in no read-only account.
	write := p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(tagScript)})
	structured(t, write, &fan)
	if n := stack.MCP.Executed("CreateTags"); n != 0 || fan.Summary.Succeeded != 0 {
		t.Errorf("a writing script executed %d times (%d succeeded)", n, fan.Summary.Succeeded)
	}

	// No token, key or secret in the log or an answer.
	for _, where := range []string{p.stderr.String(), text(res), text(out), text(write)} {
		if strings.Contains(where, fakeaws.SSOTokenPrefix) || strings.Contains(where, "ASIASSO") {
			t.Fatalf("a token or an access key leaked: %.300s", where)
		}
	}
}

// TestIdentityCenterRolePreference: with --sso-role
// AdministratorAccess,ReadOnly*, accounts having both sign with the first,
// and a fan-out of scripts is refused there unless --allow-write-fanout.
func TestIdentityCenterRolePreference(t *testing.T) {
	t.Parallel()
	portal := fakeaws.GenerateSSOAccounts(12)
	stack := fakeaws.Start(fakeaws.Options{SSO: portal})
	t.Cleanup(stack.Close)
	_, env := ssoHome(t, stack, time.Hour)
	for _, allowWrites := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow write fan-out %v", allowWrites), func(t *testing.T) {
			args := []string{"--sso-role", "AdministratorAccess,ReadOnly*"}
			if allowWrites {
				args = append(args, "--allow-write-fanout")
			}
			p := startProxy(t, stack, env, args...)
			var listed struct {
				Accounts []listedAccount `json:"accounts"`
			}
			structured(t, p.call(t, "list_accounts", nil), &listed)
			admin := map[string]bool{}
			for _, a := range listed.Accounts {
				if a.SSORole == "AdministratorAccess" {
					admin[a.ID] = true
				}
			}
			for _, a := range portal {
				hasAdmin := strings.Contains(strings.Join(a.Roles, ","), "AdministratorAccess")
				if hasAdmin != admin[a.ID] {
					t.Errorf("account %s (roles %v): signs with AdministratorAccess %v", a.ID, a.Roles, admin[a.ID])
				}
			}
			var fan queryAllOutput
			structured(t, p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)}), &fan)
			reason := ""
			for _, r := range fan.Results {
				if admin[r.AccountID] && (r.Status == "success") != allowWrites {
					t.Errorf("account %s with AdministratorAccess: %s %s", r.AccountID, r.Status, r.Error)
				}
				if admin[r.AccountID] && r.Error != "" {
					reason = r.Error
				}
			}
			if !allowWrites && (!strings.Contains(reason, "--sso-role") || !strings.Contains(reason, "--allow-write-fanout")) {
				t.Errorf("the refusal does not name both ways out: %q", reason)
			}
		})
	}
}

// TestIdentityCenterExpiredToken: an expired token that cannot be
// refreshed is a tool error naming aws sso login, the server keeps
// running, and a new login works without a restart.
func TestIdentityCenterExpiredToken(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{SSO: fakeaws.GenerateSSOAccounts(6)})
	t.Cleanup(stack.Close)
	home, env := ssoHome(t, stack, time.Hour)
	p := startProxy(t, stack, env)
	stack.SSO.Revoke() // the token and its refresh token are no longer good

	for _, tool := range []string{"list_accounts", "query_all"} {
		res := p.call(t, tool, map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)})
		if tool == "list_accounts" {
			res = p.call(t, tool, nil)
		}
		if !res.IsError || !strings.Contains(text(res), "aws sso login --sso-session corp") {
			t.Errorf("%s with a revoked session: %s", tool, text(res))
		}
	}
	// The person signs in again; the next call works.
	if err := fakeaws.WriteSSOToken(home, ssoSession, ssoStartURL, ssoRegion, stack.SSO.IssueToken(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var fan queryAllOutput
	structured(t, p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)}), &fan)
	if fan.Summary.Succeeded == 0 {
		t.Errorf("after a new login: %+v", fan.Summary)
	}

	// An expired access token whose refresh token is good is refreshed
	// through SSO OIDC, without the person (a new process: nothing cached).
	stale := stack.SSO.IssueToken(-time.Minute)
	if err := fakeaws.WriteSSOToken(home, ssoSession, ssoStartURL, ssoRegion, stale); err != nil {
		t.Fatal(err)
	}
	before := stack.SSO.Calls("CreateToken")
	fresh := startProxy(t, stack, env)
	res := fresh.call(t, "list_accounts", nil)
	if res.IsError || stack.SSO.Calls("CreateToken") != before+1 || !strings.Contains(text(res), "300000000002") {
		t.Errorf("an expired token was not refreshed (CreateToken %d → %d): %s", before, stack.SSO.Calls("CreateToken"), text(res))
	}
	raw, _ := json.Marshal(p.stderr.String())
	if strings.Contains(string(raw), fakeaws.SSOTokenPrefix) {
		t.Error("a token reached the log")
	}
}

// TestIdentityCenterDoctor: doctor checks the session and one
// GetRoleCredentials per account, with no base credentials; a revoked
// session fails with the fix.
func TestIdentityCenterDoctor(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{SSO: fakeaws.GenerateSSOAccounts(6)})
	t.Cleanup(stack.Close)
	_, env := ssoHome(t, stack, time.Hour)
	out, _, code := runCLI(t, stack, env, "doctor")
	if code != 0 || !strings.Contains(out, "IAM Identity Center") || !strings.Contains(out, "6 of 6 accounts ready") {
		t.Errorf("doctor: exit %d\n%s", code, out)
	}
	if n := stack.SSO.Calls("GetRoleCredentials"); n != 6 {
		t.Errorf("%d GetRoleCredentials calls, want one for each of the 6 accounts", n)
	}
	stack.SSO.Revoke()
	out, _, code = runCLI(t, stack, env, "doctor")
	if code == 0 || !strings.Contains(out, "aws sso login --sso-session corp") {
		t.Errorf("doctor with a revoked session: exit %d\n%s", code, out)
	}
}

// TestIdentityCenterDemo: demo --sso runs the whole flow on a fake portal:
// no base credentials, no AssumeRole, every account with a read-only
// permission set answered, the other named.
func TestIdentityCenterDemo(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 1) // only for the harness's environment; the demo starts its own fakes
	out, _, code := runCLI(t, stack, nil, "demo", "--sso")
	if code != 0 || !strings.Contains(out, "24 of 24 succeeded") || !strings.Contains(out, "(24 GetRoleCredentials calls, 0 AssumeRole)") ||
		!strings.Contains(out, "security-audit (roles: AdministratorAccess)") {
		t.Errorf("demo --sso: exit %d\n%s", code, out)
	}
}
