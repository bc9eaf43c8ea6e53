package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

const teamPolicy = `
rules:
  - match: {groups: platform-admins}
  - match: {groups: payments-oncall}
    tags: {team: payments}
    read_only: true
  - match: {email: "*@web.example.com"}
    tags: {team: web}
`

// TestTeamServerScopesCallers: two callers in different groups see
// different accounts; a scope cannot be widened by account_id, selectors
// or regions; read-only rules are enforced like --read-only; one caller
// cannot read another's stored result; STS names the person.
func TestTeamServerScopesCallers(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 12)
	idp := startIdP(t)
	srv := startTeamServer(t, stack, []string{teamAccounts(t, stack, "platform", "payments", "web")},
		"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", writePolicy(t, teamPolicy),
		"--session-name", "mcp-{caller}", "--source-identity", "email")
	admin := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "u-admin", "email": "root@example.com", "groups": []string{"platform-admins"}}))
	oncall := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "u-pay", "email": "pat@example.com", "groups": []string{"payments-oncall"}}))
	nobody := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "u-none", "email": "nobody@example.org"}))

	ids := func(res *mcp.CallToolResult) []string {
		var out struct{ Accounts []struct{ ID string } }
		structured(t, res, &out)
		var got []string
		for _, a := range out.Accounts {
			got = append(got, a.ID)
		}
		return got
	}
	var payments, others []string
	for i, a := range stack.Accounts {
		if i%3 == 1 {
			payments = append(payments, a.ID)
		} else {
			others = append(others, a.ID)
		}
	}
	if got := ids(callTool(t, admin, "list_accounts", nil)); len(got) != 12 {
		t.Errorf("the admin sees %d accounts, want 12", len(got))
	}
	if got := ids(callTool(t, oncall, "list_accounts", nil)); strings.Join(got, ",") != strings.Join(payments, ",") {
		t.Errorf("the on-call engineer sees %v, want the payments accounts %v", got, payments)
	}
	if res := callTool(t, nobody, "list_accounts", nil); !res.IsError || !strings.Contains(text(res), "no accounts: the access policy grants this caller none") {
		t.Errorf("a caller no rule matches: %s", text(res))
	}

	t.Run("a scope cannot be widened", func(t *testing.T) {
		outside := others[0]
		unconfigured := callTool(t, oncall, "query", map[string]any{"account_id": "999999999999", "tool_name": "aws___call_aws", "arguments": callerIdentity})
		res := callTool(t, oncall, "query", map[string]any{"account_id": outside, "tool_name": "aws___call_aws", "arguments": callerIdentity})
		if !res.IsError || strings.ReplaceAll(text(res), outside, "X") != strings.ReplaceAll(text(unconfigured), "999999999999", "X") {
			t.Errorf("an account out of scope answers %q, an unconfigured one %q: want the same error", text(res), text(unconfigured))
		}
		res = callTool(t, oncall, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "accounts": []string{outside}})
		if !res.IsError || !strings.Contains(text(res), "unknown account") {
			t.Errorf("query_all naming an account out of scope: %s", text(res))
		}
		res = callTool(t, oncall, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "tags": map[string]string{"team": "web"}})
		if !res.IsError || !strings.Contains(text(res), "selection matched no account") {
			t.Errorf("query_all selecting another team's tag: %s", text(res))
		}
		res = callTool(t, oncall, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "regions": []string{"us-east-1", "eu-west-1"}})
		var out queryAllOutput
		structured(t, res, &out)
		if out.Summary.Total != 2*len(payments) {
			t.Errorf("regions widened the fan-out to %d entries, want %d", out.Summary.Total, 2*len(payments))
		}
		for _, r := range out.Results {
			if !contains(payments, r.AccountID) {
				t.Errorf("query_all reached %s, outside the caller's scope", r.AccountID)
			}
		}
		for _, c := range stack.MCP.Calls() {
			if c.Principal == "" || (!contains(payments, c.Account) && strings.Contains(c.Principal, "pat@example.com")) {
				t.Errorf("an upstream call in %s was signed for the on-call engineer", c.Account)
			}
		}
	})

	t.Run("read-only rules refuse writes and pass the read-only session policy", func(t *testing.T) {
		res := callTool(t, oncall, "query", map[string]any{"account_id": payments[0], "tool_name": "aws___put_thing", "arguments": map[string]any{"name": "x"}})
		if !res.IsError || !strings.Contains(text(res), "read-only access to account "+payments[0]) {
			t.Errorf("a write by a read-only caller: %s", text(res))
		}
		for _, c := range stack.STS.Calls() {
			if strings.Contains(c.RoleSessionName, "pat@example.com") && (len(c.PolicyARNs) != 1 || !strings.HasSuffix(c.PolicyARNs[0], ":iam::aws:policy/ReadOnlyAccess")) {
				t.Errorf("the read-only caller's AssumeRole had session policies %v", c.PolicyARNs)
			}
		}
		res = callTool(t, admin, "query", map[string]any{"account_id": payments[0], "tool_name": "aws___put_thing", "arguments": map[string]any{"name": "x"}})
		if res.IsError {
			t.Errorf("the admin's write was refused: %s", text(res))
		}
	})

	t.Run("STS names the person, and credentials are never shared across callers", func(t *testing.T) {
		acct := payments[1]
		callTool(t, admin, "query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "arguments": callerIdentity})
		callTool(t, oncall, "query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "arguments": callerIdentity})
		sessions := map[string]string{}
		for _, c := range stack.STS.Calls() {
			if c.Account == acct {
				sessions[c.RoleSessionName] = c.SourceIdentity
			}
		}
		if sessions["mcp-root@example.com"] != "root@example.com" || sessions["mcp-pat@example.com"] != "pat@example.com" || len(sessions) != 2 {
			t.Errorf("AssumeRole sessions in %s: %v, want one per caller with its SourceIdentity", acct, sessions)
		}
		if !strings.Contains(srv.stderr.String(), "caller=u-pay email=pat@example.com") {
			t.Errorf("audit lines do not name the caller:\n%.2000s", srv.stderr.String())
		}
	})

	t.Run("one caller cannot read another's stored result", func(t *testing.T) {
		res := callTool(t, admin, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "tags": map[string]string{"team": "payments"}})
		var out struct {
			Summary struct {
				ResultID string `json:"result_id"`
			} `json:"summary"`
		}
		structured(t, res, &out)
		mine := callTool(t, admin, "get_result", map[string]any{"result_id": out.Summary.ResultID})
		theirs := callTool(t, oncall, "get_result", map[string]any{"result_id": out.Summary.ResultID})
		if mine.IsError || !theirs.IsError || !strings.Contains(text(theirs), "is unknown") {
			t.Errorf("get_result by the owner: %v; by another caller: %s", mine.IsError, text(theirs))
		}
		if _, err := oncall.ReadResource(context.Background(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{
			URI: fmt.Sprintf("awsmcp://results/%s/%s/us-east-1", out.Summary.ResultID, payments[0])}}); err == nil || !strings.Contains(err.Error(), "unknown") {
			t.Errorf("resources/read of another caller's result: %v", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestTeamServerRefusesBadTokens: every refused token gets 401 with the
// header that points the client at the Protected Resource Metadata; the
// metadata and the health check answer without a token.
func TestTeamServerRefusesBadTokens(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 2)
	idp := startIdP(t)
	other := startIdP(t)
	srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience)
	now := time.Now()
	alice := fakeoidc.Claims{"sub": "alice"}
	with := func(k string, v any) fakeoidc.Claims { return fakeoidc.Claims{"sub": "alice", k: v} }
	refused := map[string]string{
		"no token":                    "",
		"expired":                     idp.Token(teamAudience, with("exp", now.Add(-2*time.Minute).Unix())),
		"not yet valid":               idp.Token(teamAudience, with("nbf", now.Add(2*time.Minute).Unix())),
		"wrong issuer":                other.Token(teamAudience, alice),
		"wrong audience":              idp.Token("https://elsewhere.example.com/mcp", alice),
		"unsigned (alg none)":         idp.TokenUnsigned(teamAudience, alice),
		"HMAC with the public key":    idp.TokenHMACWithPublicKey(teamAudience, alice),
		"badly signed":                idp.TokenWithForeignKey(teamAudience, alice),
		"not a JWT":                   "hello",
		"a tampered payload":          tamper(idp.Token(teamAudience, alice)),
		"within the skew is accepted": idp.Token(teamAudience, with("exp", now.Add(-30*time.Second).Unix())),
	}
	for name, token := range refused {
		resp := srv.post(t, token, initializeBody)
		if name == "within the skew is accepted" {
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: HTTP %d", name, resp.StatusCode)
			}
			continue
		}
		challenge := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(challenge, `Bearer resource_metadata="https://ops-mcp.example.com/.well-known/oauth-protected-resource/mcp"`) {
			t.Errorf("%s: HTTP %d, WWW-Authenticate %q", name, resp.StatusCode, challenge)
		}
	}
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
		}
		json.NewDecoder(resp.Body).Decode(&meta)
		resp.Body.Close()
		if meta.Resource != teamAudience || len(meta.AuthorizationServers) != 1 || meta.AuthorizationServers[0] != idp.Issuer {
			t.Errorf("%s: %+v", path, meta)
		}
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %v %v", resp, err)
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	if resp := srv.post(t, idp.Token(teamAudience, alice), big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB body: HTTP %d, want 413", resp.StatusCode)
	}
}

// tamper flips a character of a token's payload.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	b := []byte(parts[1])
	b[5] ^= 1
	parts[1] = string(b)
	return strings.Join(parts, ".")
}

// TestTeamServerManySessions: 50 sessions of callers in five teams run
// query_all over 200 accounts at once; each gets exactly its team's
// accounts, and the server keeps serving.
func TestTeamServerManySessions(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 200)
	stack.MCP.SetDefaultLatency(20 * time.Millisecond)
	idp := startIdP(t)
	teams := []string{"a", "b", "c", "d", "e"}
	srv := startTeamServer(t, stack, []string{teamAccounts(t, stack, teams...), "AWS_MCP_CONCURRENCY=32", "AWS_MCP_ACCOUNT_RPS=0"},
		"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", groupPolicy(t, teams))
	want := accountsByTeam(stack, teams)
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for i := range 50 {
		team := teams[i%len(teams)]
		c := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": fmt.Sprintf("user-%d", i), "groups": []string{"team-" + team}}))
		wg.Go(func() {
			req := mcp.CallToolRequest{}
			req.Params.Name = "query_all"
			req.Params.Arguments = map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}
			res, err := c.CallTool(context.Background(), req)
			if err != nil {
				errs <- fmt.Sprintf("session %d: %v", i, err)
				return
			}
			var out queryAllOutput
			raw, _ := json.Marshal(res.StructuredContent)
			json.Unmarshal(raw, &out)
			if out.Summary.Succeeded != len(want[team]) || len(out.Results) != len(want[team]) {
				errs <- fmt.Sprintf("session %d (team %s): %d results, %d succeeded, want %d", i, team, len(out.Results), out.Summary.Succeeded, len(want[team]))
				return
			}
			for _, r := range out.Results {
				if !want[team][r.AccountID] || r.Status != "success" || callerAccount(t, r.Data) != r.AccountID {
					errs <- fmt.Sprintf("session %d (team %s): an entry of %s (%s)", i, team, r.AccountID, r.Status)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	c := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "late", "groups": []string{"team-a"}}))
	if res := callTool(t, c, "list_accounts", nil); res.IsError {
		t.Errorf("the server stopped serving: %s", text(res))
	}
}

// TestTeamServerDrains: at SIGTERM the health check fails, new sessions
// are refused, a call in flight finishes, and the process exits.
func TestTeamServerDrains(t *testing.T) {
	stack := newStack(t, 3)
	idp := startIdP(t)
	srv := startTeamServer(t, stack, []string{accountsEnv(stack), "AWS_MCP_REPLY_WITHIN=0"}, "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience)
	token := idp.Token(teamAudience, fakeoidc.Claims{"sub": "alice"})
	c := srv.connect(t, token)
	stack.MCP.SetDefaultLatency(2 * time.Second)
	finished := make(chan *mcp.CallToolResult, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "query_all"
		req.Params.Arguments = map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}
		res, _ := c.CallTool(context.Background(), req)
		finished <- res
	}()
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 3 })
	srv.cmd.Process.Signal(syscall.SIGTERM)
	waitUntil(t, func() bool {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if resp := srv.post(t, token, initializeBody); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a new session while draining: HTTP %d, want 503", resp.StatusCode)
	}
	res := <-finished
	var out queryAllOutput
	if res != nil {
		structured(t, res, &out)
	}
	if res == nil || out.Summary.Succeeded != 3 {
		t.Errorf("the call in flight did not finish: %+v\n%s", res, srv.stderr.String())
	}
	select {
	case <-srv.done:
		if srv.err != nil {
			t.Errorf("exit: %v", srv.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", srv.stderr.String())
	}
}

// TestTeamServerDrainDeadline: calls still running at the drain deadline
// are cancelled and the process exits.
func TestTeamServerDrainDeadline(t *testing.T) {
	stack := newStack(t, 3)
	stack.MCP.SetDefaultLatency(time.Minute)
	srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--drain", "500ms")
	c := srv.connect(t, "")
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "query_all"
		req.Params.Arguments = map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}
		c.CallTool(context.Background(), req)
	}()
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 3 })
	start := time.Now()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
		t.Logf("exited %s after SIGTERM with a 500 ms drain", time.Since(start).Round(10*time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", srv.stderr.String())
	}
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 0 })
	if !strings.Contains(srv.stderr.String(), "drain deadline") {
		t.Errorf("no drain deadline line:\n%s", srv.stderr.String())
	}
}

// TestTeamServerAddressRules: without sign-in only loopback is served; a
// bad access policy stops the program with exit 2.
func TestTeamServerAddressRules(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 1)
	idp := startIdP(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--http", "0.0.0.0:0"}, "without sign-in"},
		{[]string{"serve", "--http", ":8080"}, "without sign-in"},
		{[]string{"serve", "--http", "127.0.0.1:0", "--access-policy", "x.yaml"}, "need --oidc-issuer"},
		{[]string{"serve", "--http", "127.0.0.1:0", "--oidc-issuer", idp.Issuer}, "needs --oidc-audience"},
		{[]string{"serve", "--http", "127.0.0.1:0", "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", writePolicy(t, "rules:\n  - match: {}\n")}, "match is empty"},
		{[]string{"serve", "--http", "127.0.0.1:0", "--tls-cert", "c.pem"}, "go together"},
	}
	for _, tt := range tests {
		_, stderr, code := runCLI(t, stack, []string{accountsEnv(stack)}, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 with %q", tt.args, code, stderr, tt.want)
		}
	}
	srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--insecure-no-auth")
	if !strings.Contains(srv.stderr.String(), "--insecure-no-auth") {
		t.Errorf("no warning for --insecure-no-auth:\n%s", srv.stderr.String())
	}
	c := srv.connect(t, "")
	if res := callTool(t, c, "list_accounts", nil); res.IsError {
		t.Errorf("list_accounts without auth: %s", text(res))
	}
	// DNS rebinding: a loopback server refuses a foreign Host header.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(initializeBody))
	req.Host = "evil.example.com"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a rebinding Host header: HTTP %d, want 403", resp.StatusCode)
	}
}

// TestTeamServerStatelessBehindALoadBalancer: two --stateless processes
// sharing a results bucket behind a round-robin proxy serve any caller: a
// result made through one is read through the other, and no caller reads
// another's.
func TestTeamServerStatelessBehindALoadBalancer(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 6)
	stack.MCP.SetPayload(20 << 10)
	idp := startIdP(t)
	env := sharedResults(t, stack, "team-results")
	args := []string{"--stateless", "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience}
	a, b := startTeamServer(t, stack, env, args...), startTeamServer(t, stack, env, args...)
	var turn atomic.Int64
	backends := []*url.URL{mustURL(t, a.URL), mustURL(t, b.URL)}
	lb := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backends[turn.Add(1)%2])
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(lb.Close)
	front := &teamServer{URL: lb.URL, stderr: &syncBuffer{}} // the balancer has no log of its own

	aliceToken := idp.Token(teamAudience, fakeoidc.Claims{"sub": "alice"})
	alice := front.connect(t, aliceToken)
	res := callTool(t, alice, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	var out budgetedOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 6 || out.Summary.ResultID == "" || out.Summary.Omitted == 0 {
		t.Fatalf("query_all through the balancer: %+v", out.Summary)
	}
	acct := stack.Accounts[3].ID
	for _, srv := range []*teamServer{a, b, front} {
		c := srv.connect(t, aliceToken)
		page := callTool(t, c, "get_result", map[string]any{"result_id": out.Summary.ResultID, "account_id": acct, "max_bytes": 64 << 10})
		if got, _ := pageOf(t, page); page.IsError || got != answerOf(fakeaws.PayloadText(acct, 20<<10)) {
			t.Errorf("get_result through %s: %.200s", srv.URL, text(page))
		}
	}
	bob := front.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "bob"}))
	for range 2 { // one call lands on each process
		if res := callTool(t, bob, "get_result", map[string]any{"result_id": out.Summary.ResultID}); !res.IsError || !strings.Contains(text(res), "unknown") {
			t.Errorf("bob read alice's result: %.200s", text(res))
		}
	}
	if n := turn.Load(); n < 4 {
		t.Errorf("the balancer passed %d requests, want both processes used", n)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestTeamServerServesTLS: with --tls-cert and --tls-key the server speaks
// HTTPS only.
func TestTeamServerServesTLS(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 2)
	certFile, keyFile, pool := selfSignedCert(t)
	srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--tls-cert", certFile, "--tls-key", keyFile)
	secure := "https" + strings.TrimPrefix(srv.URL, "http")
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tr, err := transport.NewStreamableHTTP(secure+"/mcp", transport.WithHTTPBasicClient(tlsClient))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
		ClientInfo: mcp.Implementation{Name: "tls", Version: "1"}}}); err != nil {
		t.Fatalf("initialize over TLS: %v\n%s", err, srv.stderr.String())
	}
	if res := callTool(t, c, "list_accounts", nil); res.IsError {
		t.Errorf("list_accounts over TLS: %s", text(res))
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the TLS server answered plain HTTP")
		}
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and
// returns a pool that trusts it.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTeamServerListsToolsInTheCallersScope: the first tools/list lists the
// upstream tools through an account the caller may reach, with the caller's
// own credentials: no role of an account outside its scope is assumed.
func TestTeamServerListsToolsInTheCallersScope(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 6)
	idp := startIdP(t)
	srv := startTeamServer(t, stack, []string{teamAccounts(t, stack, "platform", "payments", "web")},
		"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", writePolicy(t, teamPolicy),
		"--source-identity", "email")
	oncall := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "u-pay", "email": "pat@example.com", "groups": []string{"payments-oncall"}}))
	var payments []string
	for i, a := range stack.Accounts {
		if i%3 == 1 {
			payments = append(payments, a.ID)
		}
	}
	tools, err := oncall.ListTools(t.Context(), mcpListTools())
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Tools {
		if tool.Name == "query_all" && !strings.Contains(tool.Description, "aws___run_script") {
			t.Errorf("query_all's description does not name the upstream's script tool: %s", tool.Description)
		}
	}
	calls := stack.STS.Calls()
	if len(calls) == 0 {
		t.Fatal("the tools were not listed through any account")
	}
	for _, c := range calls {
		if !contains(payments, c.Account) || c.SourceIdentity != "pat@example.com" {
			t.Errorf("tools/list assumed a role in %s as %q, want only the caller's accounts %v as pat@example.com", c.Account, c.SourceIdentity, payments)
		}
	}
}
