package teamserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

// TestKeySetRefetchLimits: a key id makes at most one fetch a minute, all
// key ids together a burst and then one per KeyRefetchEvery; a known key
// id with a bad signature makes none; a newly published key is fetched
// while the allowance lasts.
func TestKeySetRefetchLimits(t *testing.T) {
	t.Parallel()
	idp := fakeoidc.Start()
	defer idp.Close()
	now := time.Unix(1_800_000_000, 0)
	keys := newKeySet(idp.Issuer+"/jwks", http.DefaultClient, []jose.SignatureAlgorithm{jose.RS256}, slog.New(slog.DiscardHandler))
	keys.now = func() time.Time { return now }
	ctx := context.Background()
	verify := func(token string) error { _, err := keys.VerifySignature(ctx, token); return err }
	claims := fakeoidc.Claims{"sub": "alice"}

	if err := verify(idp.Token(audience, claims)); err != nil {
		t.Fatalf("a good token, keys not yet fetched: %v", err)
	}
	fetches := func() int { return int(keys.fetches.Load()) }
	steps := []struct {
		name        string
		token       string
		advance     time.Duration
		ok          bool
		wantFetches int
	}{
		{"a good token, keys cached", idp.Token(audience, claims), 0, true, 1},
		{"a known key id, a forged signature", idp.TokenWithForeignKey(audience, claims), 0, false, 1},
		{"unknown key id 1", idp.TokenWithKeyID(audience, "k1", claims), 0, false, 2},
		{"unknown key id 1 again", idp.TokenWithKeyID(audience, "k1", claims), 0, false, 2},
		{"unknown key id 2", idp.TokenWithKeyID(audience, "k2", claims), 0, false, 3},
		{"unknown key id 3: the burst is spent", idp.TokenWithKeyID(audience, "k3", claims), 0, false, 3},
		{"key id 3 one allowance later", idp.TokenWithKeyID(audience, "k3", claims), KeyRefetchEvery, false, 4},
		{"unknown key id 4 right after", idp.TokenWithKeyID(audience, "k4", claims), 0, false, 4},
		{"key id 1 within its minute, with allowance", idp.TokenWithKeyID(audience, "k1", claims), 30 * time.Second, false, 4},
		{"key id 1 a minute after its fetch", idp.TokenWithKeyID(audience, "k1", claims), KeyRefetchPerKid - KeyRefetchEvery - 30*time.Second, false, 5},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		err := verify(s.token)
		if (err == nil) != s.ok || fetches() != s.wantFetches {
			t.Errorf("%s: err %v, %d fetches; want ok %v, %d fetches", s.name, err, fetches(), s.ok, s.wantFetches)
		}
	}

	now = now.Add(KeyRefetchEvery)
	idp.Rotate(false)
	if err := verify(idp.Token(audience, claims)); err != nil {
		t.Errorf("a token of a newly published key, with allowance: %v", err)
	}
	if keys.suppressed.Load() == 0 {
		t.Error("no suppressed refetch was counted")
	}
}

// TestKeySetShareOneFetch: tokens of a new key arriving together wait for
// one fetch rather than being refused.
func TestKeySetShareOneFetch(t *testing.T) {
	t.Parallel()
	idp := fakeoidc.Start()
	defer idp.Close()
	keys := newKeySet(idp.Issuer+"/jwks", http.DefaultClient, []jose.SignatureAlgorithm{jose.RS256}, slog.New(slog.DiscardHandler))
	if _, err := keys.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range KeyRefetchBurst { // spend the burst on strangers
		keys.VerifySignature(context.Background(), idp.TokenWithKeyID(audience, fmt.Sprint(time.Now().UnixNano()), fakeoidc.Claims{"sub": "x"}))
	}
	idp.Rotate(false)
	later := time.Now().Add(KeyRefetchEvery) // one allowance for the new key
	keys.mu.Lock()
	keys.now = func() time.Time { return later }
	keys.mu.Unlock()
	errs := make(chan error, 20)
	token := idp.Token(audience, fakeoidc.Claims{"sub": "alice"})
	for range 20 {
		go func() { _, err := keys.VerifySignature(context.Background(), token); errs <- err }()
	}
	failed := 0
	for range 20 {
		if <-errs != nil {
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of 20 tokens of a new key were refused", failed)
	}
}
