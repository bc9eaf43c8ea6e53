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
	v, err := NewVerifier(context.Background(), idp.Issuer, audience, nil, nil)
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
