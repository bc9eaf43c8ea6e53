package teamserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/time/rate"
)

// Refetch limits of the issuer's key set. go-oidc's RemoteKeySet fetches
// the JWKS again for every token no cached key verifies, so a stranger
// with a made-up key id (iss and aud are public) makes us load the IdP
// with one fetch per request. A key id is fetched for at most once per
// KeyRefetchPerKid; all refetches together at most KeyRefetchBurst at once
// and one per KeyRefetchEvery after that.
const (
	KeyRefetchPerKid = time.Minute
	KeyRefetchEvery  = 20 * time.Second
	KeyRefetchBurst  = 3
)

// maxKeySetBytes bounds a JWKS document; fetchTimeout a fetch of it.
const (
	maxKeySetBytes = 1 << 20
	fetchTimeout   = 10 * time.Second
)

// keySet verifies token signatures with the issuer's published keys
// (an oidc.KeySet). It fetches the JWKS when the verifier starts, and
// again only for a key id it does not hold, within the refetch limits; a
// known key id whose signature does not verify is refused without a fetch.
type keySet struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	log    *slog.Logger
	now    func() time.Time

	mu   sync.Mutex // guards keys, tried, overall and inflight
	keys []jose.JSONWebKey
	// tried is when a key id last made us fetch.
	tried   map[string]time.Time
	overall *rate.Limiter
	// inflight is closed when the fetch under way ends (nil: none is).
	inflight chan struct{}

	fetches, suppressed atomic.Int64
}

func newKeySet(url string, client *http.Client, algs []jose.SignatureAlgorithm, log *slog.Logger) *keySet {
	if client == nil {
		client = http.DefaultClient
	}
	return &keySet{
		url: url, client: client, algs: algs, log: log, now: time.Now,
		tried:   map[string]time.Time{},
		overall: rate.NewLimiter(rate.Every(KeyRefetchEvery), KeyRefetchBurst),
	}
}

var errUnknownKey = errors.New("signed by a key the issuer does not publish")

// VerifySignature checks jwt's signature and returns its payload.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token must have exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.Lock()
	keys, known := k.keys, k.holds(kid)
	k.mu.Unlock()
	if payload, ok := verifyWith(jws, keys, kid); ok {
		return payload, nil
	}
	if known {
		return nil, errors.New("the signature does not verify")
	}
	keys, fetched, err := k.keysFor(ctx, kid)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, kid); ok {
		return payload, nil
	}
	if !fetched {
		k.suppressed.Add(1)
		k.log.Debug("not fetching the issuer's keys again so soon", "kid", kid,
			"jwks_fetches", k.fetches.Load(), "jwks_refetches_suppressed", k.suppressed.Load())
		return nil, fmt.Errorf("%w (key id %q; the keys were fetched again recently)", errUnknownKey, kid)
	}
	return nil, fmt.Errorf("%w (key id %q)", errUnknownKey, kid)
}

// keysFor returns the keys to try for a key id the cache did not hold:
// the cache again if it now holds it, else what a fetch under way brings
// (tokens of a newly published key arriving together share one fetch),
// else a fresh fetch if the limits allow one (fetched true), else the
// cache.
func (k *keySet) keysFor(ctx context.Context, kid string) (keys []jose.JSONWebKey, fetched bool, err error) {
	k.mu.Lock()
	if k.holds(kid) {
		defer k.mu.Unlock()
		return k.keys, false, nil
	}
	if wait := k.inflight; wait != nil {
		k.mu.Unlock()
		<-wait
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.keys, false, nil
	}
	if !k.allowed(kid) {
		defer k.mu.Unlock()
		return k.keys, false, nil
	}
	k.mu.Unlock()
	keys, err = k.refresh(ctx)
	return keys, true, err
}

// holds reports whether a key of id kid is cached; k.mu is held.
func (k *keySet) holds(kid string) bool {
	if kid == "" {
		return len(k.keys) > 0
	}
	for _, key := range k.keys {
		if key.KeyID == kid {
			return true
		}
	}
	return false
}

// allowed spends the refetch allowance of kid, and of all key ids, and
// marks a fetch under way; k.mu is held.
func (k *keySet) allowed(kid string) bool {
	now := k.now()
	if last, ok := k.tried[kid]; ok && now.Sub(last) < KeyRefetchPerKid {
		return false
	}
	if !k.overall.AllowN(now, 1) {
		return false
	}
	if len(k.tried) >= 1024 {
		for id, at := range k.tried {
			if now.Sub(at) >= KeyRefetchPerKid {
				delete(k.tried, id)
			}
		}
	}
	k.tried[kid] = now
	k.inflight = make(chan struct{})
	return true
}

// refresh fetches the key set and caches it; it ends the fetch under way
// (k.inflight), if any.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	keys, err := k.fetch(ctx)
	k.fetches.Add(1)
	k.mu.Lock()
	if err == nil {
		k.keys = keys
	}
	if k.inflight != nil {
		close(k.inflight)
		k.inflight = nil
	}
	k.mu.Unlock()
	if err != nil {
		k.log.Warn("cannot fetch the issuer's keys", "jwks_uri", k.url, "error", err, "jwks_fetches", k.fetches.Load())
		return nil, err
	}
	k.log.Debug("fetched the issuer's keys", "jwks_uri", k.url, "keys", len(keys),
		"jwks_fetches", k.fetches.Load(), "jwks_refetches_suppressed", k.suppressed.Load())
	return keys, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	// A fetch serves every token waiting for it, so one caller leaving
	// does not end it; fetchTimeout does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch the issuer's keys: %w", err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the issuer's keys: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes))
	if err != nil {
		return nil, fmt.Errorf("read the issuer's keys: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the issuer's keys: %s answered %s", k.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("the issuer's keys at %s: %w", k.url, err)
	}
	return set.Keys, nil
}

// verifyWith tries the keys of id kid (every key when the token names none).
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}
