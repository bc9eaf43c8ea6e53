package e2e

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestSignInWithoutDynamicRegistration: an MCP client signs a person in
// against a provider that, like Amazon Cognito, has no registration
// endpoint: it finds the provider from the server's 401 and Protected
// Resource Metadata, runs the authorization code flow with PKCE as the
// pre-registered public app client, and calls tools with the access token
// it gets (client_id, no aud), which the server accepts for that client.
func TestSignInWithoutDynamicRegistration(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 2)
	idp := startIdP(t)
	const appClient, redirect = "claude-code-app", "http://localhost:8123/callback"
	idp.AddPublicClient(appClient, redirect)
	// The client binds the metadata's resource to the URL it calls (RFC 9728
	// section 3.3), so the server's resource URI is its loopback URL: a port
	// is picked first (the kernel does not hand it out again at once).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	resource := "http://" + addr + "/mcp"
	srv := startTeamServerAt(t, stack, addr, []string{accountsEnv(stack)},
		"--oidc-issuer", idp.Issuer, "--oidc-audience", resource, "--oidc-client-id", appClient)

	if srv.URL+"/mcp" != resource {
		t.Fatalf("the server listens at %s, not %s", srv.URL, resource)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.NewOAuthStreamableHttpClient(srv.URL+"/mcp", transport.OAuthConfig{
		ClientID: appClient, RedirectURI: redirect, Scopes: []string{"openid"}, PKCEEnabled: true,
		TokenStore: transport.NewMemoryTokenStore(), TokenEndpointAuthMethod: "none",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	initialize := func() error {
		_, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
			ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION, ClientInfo: mcp.Implementation{Name: "signin-e2e", Version: "1"},
		}})
		return err
	}
	err = initialize()
	if !client.IsOAuthAuthorizationRequiredError(err) {
		t.Fatalf("the first initialize: %v, want the client told to sign in", err)
	}
	handler := client.GetOAuthHandler(err)
	verifier, _ := transport.GenerateCodeVerifier()
	state, _ := transport.GenerateState()
	authURL, err := handler.GetAuthorizationURL(ctx, state, transport.GenerateCodeChallenge(verifier))
	if err != nil {
		t.Fatalf("authorization URL (without a registration endpoint): %v", err)
	}
	// The browser: follow /authorize to the callback, as the person signs in.
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || callback.Query().Get("code") == "" {
		t.Fatalf("authorize: HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := handler.ProcessAuthorizationResponse(ctx, callback.Query().Get("code"), callback.Query().Get("state"), verifier); err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	if err := initialize(); err != nil {
		t.Fatalf("initialize after sign-in: %v", err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "list_accounts"
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("list_accounts after sign-in: %v %v", res, err)
	}
	if n := idp.Registrations(); n != 0 {
		t.Errorf("the client tried dynamic registration %d times", n)
	}
}
