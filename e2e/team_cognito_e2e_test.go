package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

// TestTeamServerAcceptsCognitoAccessTokens: with --oidc-client-id and
// --oidc-scope, an Amazon Cognito user-pool access token (client_id,
// scope, token_use, no aud) of an allowed client signs in; another
// client's, an ID token, one without the scope, and today's refusals get
// 401 with the metadata header; a token with aud (a resource indicator)
// passes by the audience rule; the metadata names the scope; a machine
// client reaches what the access policy's rule for its client_id grants.
func TestTeamServerAcceptsCognitoAccessTokens(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 3)
	idp := startIdP(t)
	policy := writePolicy(t, fmt.Sprintf("rules:\n  - match: {groups: ops}\n  - match: {client_id: m2m-reports}\n    accounts: [%q]\n", stack.Accounts[2].ID))
	srv := startTeamServer(t, stack, []string{accountsEnv(stack), "AWS_MCP_OIDC_CLIENT_IDS=web-app,m2m-reports"},
		"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--oidc-scope", "ops/read", "--access-policy", policy)
	person := fakeoidc.Claims{"sub": "u-1", "groups": []string{"ops"}}
	now := time.Now()
	tokens := []struct {
		name  string
		token string
		ok    bool
	}{
		{"an access token of an allowed client", idp.CognitoAccessToken("web-app", "openid ops/read", person), true},
		{"a resource indicator: aud is this server", idp.CognitoAccessToken("other-app", "ops/read", fakeoidc.Claims{"sub": "u-1", "aud": teamAudience}), true},
		{"another client's access token", idp.CognitoAccessToken("evil-app", "ops/read", person), false},
		{"an ID token of an allowed client", idp.CognitoIDToken("web-app", person), false},
		{"without the required scope", idp.CognitoAccessToken("web-app", "openid", person), false},
		{"expired", idp.CognitoAccessToken("web-app", "ops/read", fakeoidc.Claims{"sub": "u-1", "exp": now.Add(-2 * time.Minute).Unix()}), false},
		{"not yet valid", idp.CognitoAccessToken("web-app", "ops/read", fakeoidc.Claims{"sub": "u-1", "nbf": now.Add(2 * time.Minute).Unix()}), false},
		{"unsigned (alg none)", idp.TokenUnsigned("", fakeoidc.Claims{"sub": "u-1", "aud": nil, "client_id": "web-app", "token_use": "access", "scope": "ops/read"}), false},
		{"HMAC with the public key", idp.TokenHMACWithPublicKey("", fakeoidc.Claims{"sub": "u-1", "aud": nil, "client_id": "web-app", "token_use": "access", "scope": "ops/read"}), false},
		{"badly signed", idp.TokenWithForeignKey("", fakeoidc.Claims{"sub": "u-1", "aud": nil, "client_id": "web-app", "token_use": "access", "scope": "ops/read"}), false},
		{"wrong issuer", idp.CognitoAccessToken("web-app", "ops/read", fakeoidc.Claims{"sub": "u-1", "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}), false},
	}
	for _, tt := range tokens {
		resp := srv.post(t, tt.token, initializeBody)
		challenge := resp.Header.Get("WWW-Authenticate")
		switch {
		case tt.ok && resp.StatusCode != http.StatusOK:
			t.Errorf("%s: HTTP %d, want 200", tt.name, resp.StatusCode)
		case !tt.ok && (resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(challenge, `Bearer resource_metadata="https://ops-mcp.example.com/.well-known/oauth-protected-resource/mcp"`)):
			t.Errorf("%s: HTTP %d, WWW-Authenticate %q; want 401 and the metadata", tt.name, resp.StatusCode, challenge)
		}
	}

	resp, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Scopes []string `json:"scopes_supported"`
	}
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if !slices.Equal(meta.Scopes, []string{"ops/read"}) {
		t.Errorf("scopes_supported %v, want [ops/read]", meta.Scopes)
	}

	ids := func(token string) []string {
		var out struct{ Accounts []struct{ ID string } }
		structured(t, callTool(t, srv.connect(t, token), "list_accounts", nil), &out)
		var got []string
		for _, a := range out.Accounts {
			got = append(got, a.ID)
		}
		return got
	}
	if got := ids(idp.CognitoAccessToken("web-app", "openid ops/read", person)); len(got) != 3 {
		t.Errorf("a person in ops reaches %v, want all 3 accounts", got)
	}
	// Cognito's client-credentials tokens name the client as sub too.
	if got := ids(idp.CognitoAccessToken("m2m-reports", "ops/read", fakeoidc.Claims{"sub": "m2m-reports"})); !slices.Equal(got, []string{stack.Accounts[2].ID}) {
		t.Errorf("the machine client reaches %v, want only %s (its client_id rule)", got, stack.Accounts[2].ID)
	}
}

// TestTeamServerSyncsAsAGatewayTarget: an AgentCore-Gateway-shaped client
// syncs the server as an MCP server target (tools/list, prompts/list,
// resources/list, resources/templates/list, as its DEFAULT listing mode
// does), then calls a tool with the person's passed-through token (the
// person's scope holds) and with a machine client's token (the rule for
// its client_id holds).
func TestTeamServerSyncsAsAGatewayTarget(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 3)
	idp := startIdP(t)
	policy := writePolicy(t, fmt.Sprintf("rules:\n  - match: {groups: ops}\n    accounts: [%q, %q]\n  - match: {client_id: gateway-m2m}\n    accounts: [%q]\n",
		stack.Accounts[0].ID, stack.Accounts[1].ID, stack.Accounts[2].ID))
	srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--stateless", "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience,
		"--oidc-client-id", "web-app", "--oidc-client-id", "gateway-m2m", "--access-policy", policy)
	count := func(c *rawMCP) int {
		reply := c.call(t, "tools/call", map[string]any{"name": "list_accounts"})
		var res struct {
			StructuredContent struct{ Count int } `json:"structuredContent"`
		}
		json.Unmarshal(reply.Result, &res)
		return res.StructuredContent.Count
	}
	person := srv.rawSession(t, idp.CognitoAccessToken("web-app", "openid", fakeoidc.Claims{"sub": "u-1", "groups": []string{"ops"}}))
	for _, method := range []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list"} {
		if reply := person.call(t, method, nil); reply.Error != nil || reply.HTTPStatus != http.StatusOK {
			t.Errorf("the gateway's sync, %s: %s", method, reply)
		}
	}
	if n := count(person); n != 2 {
		t.Errorf("the person's passed-through token reaches %d accounts, want 2", n)
	}
	machine := srv.rawSession(t, idp.CognitoAccessToken("gateway-m2m", "ops/invoke", fakeoidc.Claims{"sub": "gateway-m2m"}))
	if n := count(machine); n != 1 {
		t.Errorf("the gateway's own client reaches %d accounts, want 1 (its client_id rule)", n)
	}
}
