// Package fakeoidc is a local OpenID provider for tests of the team server:
// discovery (/.well-known/openid-configuration), a JWKS endpoint, key
// rotation, and access tokens minted on demand, good ones and the bad
// ones a resource server must refuse (expired, not yet valid, wrong issuer
// or audience, unsigned, HMAC-signed with the public key, signed by an
// unknown key).
package fakeoidc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Provider is a running fake OpenID provider on 127.0.0.1.
type Provider struct {
	// Issuer is the provider's issuer URL (also its base URL).
	Issuer string
	// SignIn are the claims of whoever /authorize signs in (set before use).
	SignIn Claims

	srv *httptest.Server

	mu          sync.Mutex
	keys        []key // published in the JWKS; the last signs
	jwksFetches int
	discovery   int
	// clients are the public app clients of the authorization code flow,
	// by client id, with their redirect URIs (registered by hand, as in
	// Cognito: there is no registration endpoint).
	clients map[string][]string
	codes   map[string]grant
	// Registrations counts requests to a registration endpoint (there is none).
	registrations int
}

// grant is an issued authorization code.
type grant struct {
	clientID, redirectURI, challenge, scope string
	claims                                  Claims
}

type key struct {
	id      string
	private *rsa.PrivateKey
}

// Start runs the provider with one signing key.
func Start() *Provider {
	p := &Provider{clients: map[string][]string{}, codes: map[string]grant{}, SignIn: Claims{"sub": "person-1", "username": "person-1"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("/jwks", p.serveJWKS)
	mux.HandleFunc("/authorize", p.serveAuthorize)
	mux.HandleFunc("/token", p.serveToken)
	mux.HandleFunc("/register", func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		p.registrations++
		p.mu.Unlock()
		http.NotFound(w, nil)
	})
	p.srv = httptest.NewServer(mux)
	p.Issuer = p.srv.URL
	p.Rotate(false)
	return p
}

// Close stops the provider.
func (p *Provider) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// Rotate adds a new signing key; with dropOld the earlier keys leave the
// JWKS (a token they signed then fails).
func (p *Provider) Rotate(dropOld bool) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id := fmt.Sprintf("key-%d", len(p.keys)+1)
	if dropOld {
		p.keys = nil
	}
	p.keys = append(p.keys, key{id: id, private: k})
	return id
}

// JWKSFetches counts the JWKS requests served.
func (p *Provider) JWKSFetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jwksFetches
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.discovery++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                p.Issuer,
		"jwks_uri":                              p.Issuer + "/jwks",
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "client_credentials", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
	})
}

func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.jwksFetches++
	set := jose.JSONWebKeySet{}
	for _, k := range p.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.private.PublicKey, KeyID: k.id, Algorithm: "RS256", Use: "sig"})
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(set)
}

// Claims are a token's claims; Token fills iss, iat and exp when unset.
type Claims map[string]any

// Token mints an RS256 access token signed with the current key, for
// audience aud, valid for an hour from now unless claims say otherwise.
func (p *Provider) Token(aud string, claims Claims) string {
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	return sign(k.private, k.id, p.fill(aud, claims))
}

// TokenWithForeignKey mints a token signed by a key the JWKS does not
// publish, under a key id it does.
func (p *Provider) TokenWithForeignKey(aud string, claims Claims) string {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	id := p.keys[len(p.keys)-1].id
	p.mu.Unlock()
	return sign(other, id, p.fill(aud, claims))
}

// foreign is a key the JWKS never publishes (one for every token of
// TokenWithKeyID: minting an RSA key takes long).
var foreign = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// TokenWithKeyID mints a token under key id kid, signed by a key the JWKS
// does not publish: what a stranger who knows iss and aud can send.
func (p *Provider) TokenWithKeyID(aud, kid string, claims Claims) string {
	return sign(foreign(), kid, p.fill(aud, claims))
}

// CognitoAccessToken mints an access token shaped like an Amazon Cognito
// user pool's: client_id, scope (space-separated), token_use "access",
// and no aud.
func (p *Provider) CognitoAccessToken(clientID, scope string, claims Claims) string {
	c := Claims{"aud": nil, "client_id": clientID, "scope": scope, "token_use": "access"}
	for k, v := range claims {
		c[k] = v
	}
	return p.Token("", c)
}

// CognitoIDToken mints an ID token shaped like Cognito's: aud is the app
// client, token_use "id".
func (p *Provider) CognitoIDToken(clientID string, claims Claims) string {
	c := Claims{"token_use": "id"}
	for k, v := range claims {
		c[k] = v
	}
	return p.Token(clientID, c)
}

// TokenUnsigned mints a token with "alg": "none" and no signature.
func (p *Provider) TokenUnsigned(aud string, claims Claims) string {
	return encodeSegment(map[string]any{"alg": "none", "typ": "JWT"}) + "." + encodeSegment(p.fill(aud, claims)) + "."
}

// TokenHMACWithPublicKey mints a token signed with HS256, keyed with the
// provider's public key in PEM: the algorithm-confusion attack.
func (p *Provider) TokenHMACWithPublicKey(aud string, claims Claims) string {
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(&k.private.PublicKey)
	if err != nil {
		panic(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signingInput := encodeSegment(map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.id}) + "." + encodeSegment(p.fill(aud, claims))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signingInput))
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (p *Provider) fill(aud string, claims Claims) Claims {
	out := Claims{"iss": p.Issuer, "aud": aud, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func sign(k *rsa.PrivateKey, kid string, claims Claims) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return token
}

func encodeSegment(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// AddPublicClient registers an app client without a secret that signs
// people in with the authorization code flow and PKCE, as a Cognito user
// pool's public app client with its allowed callback URLs. Whoever comes
// to /authorize signs in as p.SignIn (there is no login page).
func (p *Provider) AddPublicClient(clientID string, redirectURIs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[clientID] = redirectURIs
}

// Registrations counts dynamic client registration attempts (refused: the
// provider, like Cognito, has no registration endpoint).
func (p *Provider) Registrations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.registrations
}

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	redirects, ok := p.clients[q.Get("client_id")]
	switch {
	case !ok:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case !slices.Contains(redirects, q.Get("redirect_uri")):
		http.Error(w, "redirect_uri is not an allowed callback URL of the client", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "want response_type code and a S256 code_challenge", http.StatusBadRequest)
		return
	}
	var raw [16]byte
	rand.Read(raw[:])
	code := base64.RawURLEncoding.EncodeToString(raw[:])
	p.codes[code] = grant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), scope: q.Get("scope"), claims: p.SignIn}
	target, _ := url.Parse(q.Get("redirect_uri"))
	v := target.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	target.RawQuery = v.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "authorization_code" {
		tokenError(w, "unsupported_grant_type")
		return
	}
	p.mu.Lock()
	g, ok := p.codes[r.Form.Get("code")]
	delete(p.codes, r.Form.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
	if !ok || g.clientID != r.Form.Get("client_id") || g.redirectURI != r.Form.Get("redirect_uri") ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, "invalid_grant")
		return
	}
	scope := g.scope
	if scope == "" {
		scope = "openid"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": p.CognitoAccessToken(g.clientID, scope, g.claims),
		"token_type":   "Bearer",
		"expires_in":   3600,
	})
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}
