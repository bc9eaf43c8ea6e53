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
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Provider is a running fake OpenID provider on 127.0.0.1.
type Provider struct {
	// Issuer is the provider's issuer URL (also its base URL).
	Issuer string

	srv *httptest.Server

	mu          sync.Mutex
	keys        []key // published in the JWKS; the last signs
	jwksFetches int
	discovery   int
}

type key struct {
	id      string
	private *rsa.PrivateKey
}

// Start runs the provider with one signing key.
func Start() *Provider {
	p := &Provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("/jwks", p.serveJWKS)
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
