// Package teamserver serves the proxy's tools to a whole team over MCP
// Streamable HTTP: an OAuth 2.1 resource server as the MCP authorization
// specification describes (bearer tokens from the company's OpenID
// provider, Protected Resource Metadata), each caller scoped to the
// accounts an access policy grants, with a graceful drain on SIGTERM.
//
// It is the only package that knows HTTP and JWTs: the proxy sees a
// proxy.Caller in the context and nothing else.
package teamserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// MaxClockSkew is how far token times may be off this server's clock.
const MaxClockSkew = 60 * time.Second

// Claims are a verified token's claims.
type Claims map[string]any

// String returns a string claim, "" when absent or not a string.
func (c Claims) String(name string) string {
	s, _ := c[name].(string)
	return s
}

// Verifier checks bearer tokens: signed by the issuer's published keys
// (fetched by OpenID discovery at start, fetched again for an unknown key
// id within the limits of keySet), issued by the issuer for this server's
// audience, and within their validity up to MaxClockSkew. It is safe for
// concurrent use.
type Verifier struct {
	issuer, audience string
	clientIDs        []string
	scopes           []string
	verifier         *oidc.IDTokenVerifier
	now              func() time.Time
}

// Audience says which tokens are for this server. A token is accepted
// when its aud names Resource (RFC 8707); or, only when it has no aud,
// when it is an access token (token_use "access", as Amazon Cognito's
// user-pool access tokens say) whose client_id is one of ClientIDs —
// the check AgentCore's and API Gateway's JWT authorizers make
// (AllowedClients). Every one of Scopes must be in its scope.
type Audience struct {
	Resource  string
	ClientIDs []string
	Scopes    []string
}

// NewVerifier discovers the issuer's configuration and fetches its keys.
// client makes the discovery and JWKS requests.
func NewVerifier(ctx context.Context, issuer string, aud Audience, client *http.Client, log *slog.Logger) (*Verifier, error) {
	if client != nil {
		ctx = oidc.ClientContext(ctx, client)
	}
	if log == nil {
		log = slog.Default()
	}
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID discovery of %s: %w", issuer, err)
	}
	var meta struct {
		JWKS string   `json:"jwks_uri"`
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKS == "" {
		return nil, fmt.Errorf("OpenID discovery of %s: no jwks_uri (%v)", issuer, err)
	}
	algs := signingAlgs(meta.Algs)
	keys := newKeySet(meta.JWKS, client, algs, log)
	if _, err := keys.refresh(ctx); err != nil {
		log.Warn("the issuer's keys could not be fetched at start; they are fetched again when a token comes", "error", err)
	}
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	// Expiry and audience are checked below: with the clock skew this
	// server allows, and with client_id for tokens without aud.
	return &Verifier{issuer: issuer, audience: aud.Resource, clientIDs: aud.ClientIDs, scopes: aud.Scopes, now: time.Now,
		verifier: oidc.NewVerifier(issuer, keys, &oidc.Config{
			SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: names,
		})}, nil
}

// asymmetric are the signature algorithms a token may use (go-oidc's; an
// HMAC or "none" a provider lists is never accepted).
var asymmetric = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

// signingAlgs keeps the asymmetric algorithms of those discovery lists;
// RS256, the one OpenID Connect mandates, when it lists none.
func signingAlgs(listed []string) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range asymmetric {
		if slices.Contains(listed, string(a)) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []jose.SignatureAlgorithm{jose.RS256}
	}
	return out
}

// ErrInvalidToken is wrapped by every refused token.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks a raw bearer token and returns its claims.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var claims Claims
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	now := v.now()
	switch {
	case tok.Expiry.IsZero():
		return nil, fmt.Errorf("%w: the token has no expiry", ErrInvalidToken)
	case now.After(tok.Expiry.Add(MaxClockSkew)):
		return nil, fmt.Errorf("%w: the token expired at %s", ErrInvalidToken, tok.Expiry.UTC().Format(time.RFC3339))
	case !tok.IssuedAt.IsZero() && tok.IssuedAt.After(now.Add(MaxClockSkew)):
		return nil, fmt.Errorf("%w: the token is issued in the future (%s)", ErrInvalidToken, tok.IssuedAt.UTC().Format(time.RFC3339))
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && nbf.After(now.Add(MaxClockSkew)) {
		return nil, fmt.Errorf("%w: the token is not valid before %s", ErrInvalidToken, nbf.UTC().Format(time.RFC3339))
	}
	if tok.Subject == "" {
		return nil, fmt.Errorf("%w: the token has no subject", ErrInvalidToken)
	}
	if err := v.forThisServer(tok.Audience, claims); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return claims, nil
}

// forThisServer checks that a token is an access token for this server:
// its audience, or its client, and its scopes.
func (v *Verifier) forThisServer(aud []string, c Claims) error {
	use := c.String("token_use")
	switch {
	case use == "id":
		return errors.New("an ID token is not an access token (token_use id)")
	case len(aud) > 0 && !slices.Contains(aud, v.audience):
		return fmt.Errorf("the token is for %q, not %q", aud, v.audience)
	case len(aud) == 0 && len(v.clientIDs) == 0:
		return errors.New("the token has no audience")
	case len(aud) == 0 && use != "access":
		return fmt.Errorf("a token without an audience must be an access token (token_use access, not %q)", use)
	case len(aud) == 0 && !slices.Contains(v.clientIDs, c.String("client_id")):
		return fmt.Errorf("the token's client %q is not one this server accepts", c.String("client_id"))
	}
	have := c.Scopes()
	for _, want := range v.scopes {
		if !slices.Contains(have, want) {
			return fmt.Errorf("the token lacks the scope %q", want)
		}
	}
	return nil
}

// Scopes are a token's scopes: its scope claim (space-separated, RFC
// 9068), or scp (a list or a string, as Okta and Entra ID send it).
func (c Claims) Scopes() []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := c[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			out := make([]string, 0, len(v))
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}
