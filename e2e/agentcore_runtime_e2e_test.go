package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

// runtimeSession is what AgentCore Runtime adds to every request of one
// of its sessions: its own Mcp-Session-Id (never issued by this server)
// and its session header.
func runtimeSession(c *rawMCP, id string) *rawMCP {
	c.session = id
	c.headers = map[string]string{"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": id}
	return c
}

// TestAgentCoreRuntimePreset: two --agentcore-runtime processes sharing a
// results bucket (two microVMs) answer initialize, tools/list and
// tools/call statelessly with the Runtime's session headers present, and
// a result made through one is read through the other; the caller is the
// Cognito access token the Runtime forwards, verified again.
func TestAgentCoreRuntimePreset(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 4)
	stack.MCP.SetPayload(20 << 10)
	idp := startIdP(t)
	env := sharedResults(t, stack, "runtime-results")
	// --http 127.0.0.1:0 instead of the preset's 0.0.0.0:8000: tests stay on loopback.
	args := []string{"--agentcore-runtime", "--http", "127.0.0.1:0", "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--oidc-client-id", "runtime-client"}
	a, b := startTeamServer(t, stack, env, args...), startTeamServer(t, stack, env, args...)
	if !strings.Contains(a.stderr.String(), `"stateless":true`) {
		t.Errorf("the preset does not log JSON, or is not stateless:\n%.1000s", a.stderr.String())
	}
	token := idp.CognitoAccessToken("runtime-client", "openid", fakeoidc.Claims{"sub": "alice"})
	const session = "6f0e8c1a-runtime-session-0001"
	viaA, viaB := runtimeSession(a.rawSession(t, token), session), runtimeSession(b.rawSession(t, token), session)

	if reply := viaB.call(t, "tools/list", nil); reply.Error != nil || !strings.Contains(string(reply.Result), `"query_all"`) {
		t.Fatalf("tools/list with the Runtime's session headers: %s", reply)
	}
	reply := viaA.call(t, "tools/call", map[string]any{"name": "query_all", "arguments": whoAmI})
	var out budgetedOutput
	var res struct {
		StructuredContent json.RawMessage `json:"structuredContent"`
	}
	json.Unmarshal(reply.Result, &res)
	json.Unmarshal(res.StructuredContent, &out)
	if out.Summary.Succeeded != 4 || out.Summary.ResultID == "" {
		t.Fatalf("query_all through the first microVM: %s", reply)
	}
	acct := stack.Accounts[1].ID
	page := viaB.call(t, "tools/call", map[string]any{"name": "get_result", "arguments": map[string]any{"result_id": out.Summary.ResultID, "account_id": acct, "max_bytes": 64 << 10}})
	if page.Error != nil || rpcPage(page.Result) != answerOf(fakeaws.PayloadText(acct, 20<<10)) {
		t.Errorf("get_result through the second microVM: %.300s", page)
	}
	if reply := runtimeSession(a.rawSessionless(""), session).call(t, "tools/list", nil); reply.HTTPStatus != http.StatusUnauthorized {
		t.Errorf("a request without the forwarded token: %s, want 401", reply)
	}
}

// TestAgentCoreRuntimeTrustsItsUserID: behind SigV4 inbound auth, with
// --trust-runtime-user-id, the caller is the Runtime's user id header,
// matched by the access policy as sub; a request without it gets 401.
func TestAgentCoreRuntimeTrustsItsUserID(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 3)
	policy := writePolicy(t, fmt.Sprintf("rules:\n  - match: {sub: alice@example.com}\n    accounts: [%q]\n", stack.Accounts[0].ID))
	srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--agentcore-runtime", "--http", "127.0.0.1:0", "--trust-runtime-user-id", "--access-policy", policy)
	alice := srv.rawSessionless("")
	alice.headers = map[string]string{"X-Amzn-Bedrock-AgentCore-Runtime-User-Id": "alice@example.com"}
	reply := alice.call(t, "tools/call", map[string]any{"name": "list_accounts"})
	var res struct {
		StructuredContent struct{ Count int } `json:"structuredContent"`
	}
	if json.Unmarshal(reply.Result, &res) != nil || res.StructuredContent.Count != 1 {
		t.Errorf("alice's list_accounts: %s, want her 1 account", reply)
	}
	bob := srv.rawSessionless("")
	bob.headers = map[string]string{"X-Amzn-Bedrock-AgentCore-Runtime-User-Id": "bob@example.com"}
	if reply := bob.call(t, "tools/call", map[string]any{"name": "list_accounts"}); !strings.Contains(string(reply.Result), "grants this caller none") {
		t.Errorf("bob, whom no rule matches: %s", reply)
	}
	if reply := srv.rawSessionless("").call(t, "tools/list", nil); reply.HTTPStatus != http.StatusUnauthorized {
		t.Errorf("a request without the Runtime's user id: %s, want 401", reply)
	}
}
