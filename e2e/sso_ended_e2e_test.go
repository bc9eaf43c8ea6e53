package e2e

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// TestIdentityCenterSessionEnds: every way an IAM Identity Center session
// ends — no cached token, an expired access token whose refresh SSO OIDC
// refuses (each of its four refusals), a token the portal rejects — is a
// tool error naming `aws sso login --sso-session corp`, from query,
// query_all (each account, one group: the error written once),
// list_accounts and the CLI; the server keeps serving, and after a new
// login the next call works without a restart.
func TestIdentityCenterSessionEnds(t *testing.T) {
	t.Parallel()
	const fix = "aws sso login --sso-session corp"
	cases := []struct {
		name string
		end  func(t *testing.T, stack *fakeaws.Stack, home string)
	}{
		{"no cached token", func(t *testing.T, _ *fakeaws.Stack, home string) {
			if err := os.Remove(ssoCacheFile(home)); err != nil {
				t.Fatal(err)
			}
		}},
		{"refresh refused: " + fakeaws.RefuseGrant, refusedRefresh(fakeaws.RefuseGrant)},
		{"refresh refused: " + fakeaws.RefuseExpired, refusedRefresh(fakeaws.RefuseExpired)},
		{"refresh refused: " + fakeaws.RefuseClient, refusedRefresh(fakeaws.RefuseClient)},
		{"refresh refused: " + fakeaws.RefuseUnauthorizedClient, refusedRefresh(fakeaws.RefuseUnauthorizedClient)},
		{"token rejected by the portal", func(_ *testing.T, stack *fakeaws.Stack, _ string) { stack.SSO.Revoke() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stack := fakeaws.Start(fakeaws.Options{SSO: fakeaws.GenerateSSOAccounts(6)})
			t.Cleanup(stack.Close)
			home, env := ssoHome(t, stack, time.Hour)
			p := startProxy(t, stack, env)
			// The accounts are discovered while the session lives; no
			// account's credentials are fetched yet.
			if res := p.call(t, "list_accounts", nil); res.IsError {
				t.Fatalf("list_accounts: %s", text(res))
			}
			tc.end(t, stack, home)

			res := p.call(t, "query", map[string]any{"account_id": "300000000002", "tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)})
			if !res.IsError || !strings.Contains(text(res), fix) {
				t.Errorf("query: %s", text(res))
			}
			t.Logf("query: %s", text(res))
			var fan queryAllOutput
			var groups struct {
				Groups []struct {
					Status   string   `json:"status"`
					Accounts []string `json:"accounts"`
				} `json:"groups"`
			}
			out := p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)})
			structured(t, out, &fan)
			structured(t, out, &groups)
			if fan.Summary.Failed != fan.Summary.Total || fan.Summary.Total == 0 {
				t.Errorf("query_all: %+v", fan.Summary)
			}
			if strings.Count(text(out), fix) != 1 || len(groups.Groups) != 1 || len(groups.Groups[0].Accounts) != fan.Summary.Total {
				t.Errorf("query_all: the ended session is not one error written once (%d times, groups %+v): %s", strings.Count(text(out), fix), groups.Groups, text(out))
			}
			for _, r := range fan.Results {
				if r.ErrorCode != "credentials" {
					t.Errorf("account %s: error code %q, want credentials", r.AccountID, r.ErrorCode)
				}
			}
			// A process with nothing cached discovers nothing: list_accounts
			// and the CLI say the same.
			fresh := startProxy(t, stack, env)
			if res := fresh.call(t, "list_accounts", nil); !res.IsError || !strings.Contains(text(res), fix) {
				t.Errorf("list_accounts in a new process: %s", text(res))
			}
			for _, args := range [][]string{{"accounts"}, {"call", "--account", "300000000002", "aws___run_script", "code=1"}, {"doctor"}} {
				stdout, stderr, code := runCLI(t, stack, env, args...)
				if code == 0 || !strings.Contains(stdout+stderr, fix) {
					t.Errorf("%s: exit %d\n%s%s", args[0], code, stdout, stderr)
				}
			}

			// The person signs in again: the same server answers.
			stack.SSO.RefuseRefresh("")
			if err := fakeaws.WriteSSOToken(home, ssoSession, ssoStartURL, ssoRegion, stack.SSO.IssueToken(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if res := p.call(t, "query", map[string]any{"account_id": "300000000002", "tool_name": "aws___run_script", "arguments": scriptArgs(listBucketsScript)}); res.IsError {
				t.Errorf("query after a new login: %s", text(res))
			}
			for _, where := range []string{p.stderr.String(), text(out)} {
				if strings.Contains(where, fakeaws.SSOTokenPrefix) || strings.Contains(where, "fake-refresh-") || strings.Contains(where, fakeaws.SSOClientSecret) {
					t.Fatalf("a token or a secret leaked: %.300s", where)
				}
			}
		})
	}
}

// refusedRefresh ends a session as its last hours do: the cached access
// token has expired, and SSO OIDC refuses the refresh with code.
func refusedRefresh(code string) func(*testing.T, *fakeaws.Stack, string) {
	return func(t *testing.T, stack *fakeaws.Stack, home string) {
		stack.SSO.RefuseRefresh(code)
		if err := fakeaws.WriteSSOToken(home, ssoSession, ssoStartURL, ssoRegion, stack.SSO.IssueToken(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}

// ssoCacheFile is where aws sso login caches the session's token.
func ssoCacheFile(home string) string {
	sum := sha1.Sum([]byte(ssoSession))
	return filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
}
