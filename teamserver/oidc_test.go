package teamserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

const audience = "https://ops-mcp.example.com/mcp"

func newVerifier(t *testing.T) (*Verifier, *fakeoidc.Provider) {
	t.Helper()
	idp := fakeoidc.Start()
	t.Cleanup(idp.Close)
	v, err := NewVerifier(context.Background(), idp.Issuer, Audience{Resource: audience}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, idp
}

// TestVerifierRefusesBadTokens: every token a resource server must refuse
// is refused; the good one (and clock skew within 60 s) passes.
func TestVerifierRefusesBadTokens(t *testing.T) {
	t.Parallel()
	v, idp := newVerifier(t)
	other := fakeoidc.Start()
	defer other.Close()
	now := time.Now()
	sub := fakeoidc.Claims{"sub": "alice", "email": "alice@example.com"}
	with := func(extra fakeoidc.Claims) fakeoidc.Claims {
		out := fakeoidc.Claims{}
		for k, v := range sub {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"good", idp.Token(audience, sub), true},
		{"expired 30 s ago (within the skew)", idp.Token(audience, with(fakeoidc.Claims{"exp": now.Add(-30 * time.Second).Unix()})), true},
		{"not valid for 30 s more (within the skew)", idp.Token(audience, with(fakeoidc.Claims{"nbf": now.Add(30 * time.Second).Unix()})), true},
		{"audience in a list", idp.Token("", with(fakeoidc.Claims{"aud": []string{"other", audience}})), true},
		{"expired 2 minutes ago", idp.Token(audience, with(fakeoidc.Claims{"exp": now.Add(-2 * time.Minute).Unix()})), false},
		{"not valid before 2 minutes from now", idp.Token(audience, with(fakeoidc.Claims{"nbf": now.Add(2 * time.Minute).Unix()})), false},
		{"issued in the future", idp.Token(audience, with(fakeoidc.Claims{"iat": now.Add(10 * time.Minute).Unix()})), false},
		{"no expiry", idp.Token(audience, with(fakeoidc.Claims{"exp": nil})), false},
		{"wrong issuer", idp.Token(audience, with(fakeoidc.Claims{"iss": "https://evil.example.com"})), false},
		{"another provider's token", other.Token(audience, sub), false},
		{"wrong audience", idp.Token("https://other-resource.example.com/mcp", sub), false},
		{"no audience", idp.Token(audience, with(fakeoidc.Claims{"aud": nil})), false},
		{"unsigned (alg none)", idp.TokenUnsigned(audience, sub), false},
		{"HMAC with the public key", idp.TokenHMACWithPublicKey(audience, sub), false},
		{"signed by a key the JWKS does not have", idp.TokenWithForeignKey(audience, sub), false},
		{"no subject", idp.Token(audience, fakeoidc.Claims{"email": "x@example.com"}), false},
		{"garbage", "not.a.jwt", false},
	}
	for _, tt := range tests {
		claims, err := v.Verify(context.Background(), tt.token)
		if tt.ok != (err == nil) {
			t.Errorf("%s: Verify = %v, %v; want ok %v", tt.name, claims, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v does not wrap ErrInvalidToken", tt.name, err)
		}
		if tt.ok && err == nil && claims.String("email") != "alice@example.com" {
			t.Errorf("%s: claims %v", tt.name, claims)
		}
	}
}

// TestVerifierFollowsKeyRotation: a token signed by a key published after
// the JWKS was cached passes (the unknown key id makes the verifier fetch
// the JWKS again); a token of a key dropped from the JWKS fails.
func TestVerifierFollowsKeyRotation(t *testing.T) {
	t.Parallel()
	v, idp := newVerifier(t)
	ctx := context.Background()
	old := idp.Token(audience, fakeoidc.Claims{"sub": "alice"})
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	fetches := idp.JWKSFetches()
	idp.Rotate(true)
	if _, err := v.Verify(ctx, idp.Token(audience, fakeoidc.Claims{"sub": "alice"})); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	if idp.JWKSFetches() == fetches {
		t.Error("the JWKS was not fetched again for the new key")
	}
	if _, err := v.Verify(ctx, old); err == nil {
		t.Error("a token of the dropped key still passes")
	}
}

// TestVerifierAcceptsAccessTokensOfAllowedClients: Amazon Cognito's
// access tokens (client_id, scope, token_use, no aud) pass for an allowed
// client with the required scopes; an ID token, another client's token, a
// missing scope or a foreign audience are refused; a token with aud (a
// resource indicator) passes by the audience rule.
func TestVerifierAcceptsAccessTokensOfAllowedClients(t *testing.T) {
	t.Parallel()
	idp := fakeoidc.Start()
	defer idp.Close()
	v, err := NewVerifier(context.Background(), idp.Issuer, Audience{Resource: audience, ClientIDs: []string{"app-1", "m2m-1"}, Scopes: []string{"ops/read"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	noClients, err := NewVerifier(context.Background(), idp.Issuer, Audience{Resource: audience}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := fakeoidc.Claims{"sub": "alice"}
	tests := []struct {
		name     string
		verifier *Verifier
		token    string
		ok       bool
	}{
		{"Cognito access token of an allowed client", v, idp.CognitoAccessToken("app-1", "openid ops/read", alice), true},
		{"a machine client's token (client credentials)", v, idp.CognitoAccessToken("m2m-1", "ops/read", fakeoidc.Claims{"sub": "m2m-1"}), true},
		{"scopes as an scp list", v, idp.CognitoAccessToken("app-1", "", fakeoidc.Claims{"sub": "alice", "scope": nil, "scp": []string{"ops/read"}}), true},
		{"another client's access token", v, idp.CognitoAccessToken("app-2", "ops/read", alice), false},
		{"a Cognito ID token", v, idp.CognitoIDToken("app-1", alice), false},
		{"an ID token naming this server as audience", v, idp.Token(audience, fakeoidc.Claims{"sub": "alice", "token_use": "id", "scope": "ops/read"}), false},
		{"a required scope missing", v, idp.CognitoAccessToken("app-1", "openid", alice), false},
		{"no token_use", v, idp.CognitoAccessToken("app-1", "ops/read", fakeoidc.Claims{"sub": "alice", "token_use": nil}), false},
		{"a resource indicator: aud is this server", v, idp.CognitoAccessToken("app-9", "ops/read", fakeoidc.Claims{"sub": "alice", "aud": audience}), true},
		{"an allowed client, but for another audience", v, idp.CognitoAccessToken("app-1", "ops/read", fakeoidc.Claims{"sub": "alice", "aud": "https://other.example.com"}), false},
		{"no audience and no clients configured", noClients, idp.CognitoAccessToken("app-1", "ops/read", alice), false},
		{"expired", v, idp.CognitoAccessToken("app-1", "ops/read", fakeoidc.Claims{"sub": "alice", "exp": time.Now().Add(-2 * time.Minute).Unix()}), false},
		{"signed by a key the JWKS does not have", v, idp.TokenWithForeignKey("", fakeoidc.Claims{"sub": "alice", "aud": nil, "client_id": "app-1", "token_use": "access", "scope": "ops/read"}), false},
	}
	for _, tt := range tests {
		_, err := tt.verifier.Verify(context.Background(), tt.token)
		if tt.ok != (err == nil) {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v does not wrap ErrInvalidToken", tt.name, err)
		}
	}
}
