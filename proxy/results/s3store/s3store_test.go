package s3store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakes3"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// newStore returns a store over a real SDK S3 client pointed at the fake
// through its endpoint option.
func newStore(t *testing.T, clock func() time.Time) (*Store, *fakes3.S3) {
	t.Helper()
	keys := fakeaws.NewKeyring()
	keys.Add(fakeaws.Credential{AccessKeyID: fakeaws.BaseAccessKeyID, SecretAccessKey: fakeaws.BaseSecretAccessKey, Account: fakeaws.CentralAccount})
	fake, err := fakes3.Start(keys, "results-bucket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(fake.URL),
		UsePathStyle: true,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: fakeaws.BaseAccessKeyID, SecretAccessKey: fakeaws.BaseSecretAccessKey}, nil
		})),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	return New(client, Options{Bucket: "results-bucket", Prefix: "results/", TTL: 30 * time.Minute, Now: clock}), fake
}

func entry(account, status, text string) results.Entry {
	e := results.Entry{AccountID: account, Name: "n-" + account, Region: "us-east-1", Status: status, DurationMS: 5}
	if text != "" {
		quoted, _ := json.Marshal(text)
		e.Data = []byte(`{"content":[{"type":"text","text":` + string(quoted) + `}],"isError":false}`)
	}
	return e
}

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	store, fake := newStore(t, nil)
	ctx := context.Background()
	a := &results.Answer{ToolName: "aws___call_aws", Results: []results.Entry{
		entry("222222222222", results.StatusPending, ""),
		entry("333333333333", results.StatusPending, ""),
	}}
	a.Count()
	id, err := store.Create(ctx, "alice@example.com", a)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "alice@example.com", id, 0, entry("222222222222", results.StatusSuccess, "{\"Buckets\": []}")); err != nil {
		t.Fatal(err)
	}
	// Before Finish, the index says pending, but Get finds the entry that landed.
	rec, err := store.Get(ctx, "alice@example.com", id, false)
	if err != nil || rec.Answer.Results[0].Status != results.StatusSuccess || rec.Answer.Results[1].Status != results.StatusPending {
		t.Fatalf("Get before Finish = %+v, %v", rec, err)
	}
	if err := store.Put(ctx, "alice@example.com", id, 1, entry("333333333333", results.StatusError, "")); err != nil {
		t.Fatal(err)
	}
	if err := store.Finish(ctx, "alice@example.com", id, results.Summary{Total: 2, Succeeded: 1, Failed: 1}); err != nil {
		t.Fatal(err)
	}
	gets := fake.Gets()
	rec, err = store.Get(ctx, "alice@example.com", id, false)
	if err != nil || rec.Answer.Summary.ResultID != id || rec.Answer.Summary.Succeeded != 1 || rec.Answer.Results[0].Data != nil || rec.Answer.Results[0].Bytes != 15 {
		t.Fatalf("Get after Finish = %+v, %v", rec, err)
	}
	if n := fake.Gets() - gets; n != 1 {
		t.Errorf("a finished result's Get read %d objects, want only the index", n)
	}
	e, err := store.Entry(ctx, "alice@example.com", id, 0)
	if err != nil || results.Text(e.Data) != `{"Buckets": []}` {
		t.Fatalf("Entry = %+v, %v", e, err)
	}
	rec, err = store.Get(ctx, "alice@example.com", id, true)
	if err != nil || results.Text(rec.Answer.Results[0].Data) != `{"Buckets": []}` {
		t.Fatalf("Get with data = %+v, %v", rec, err)
	}

	keys, sse := fake.Puts()
	for _, k := range keys {
		if sse[k] != "AES256" {
			t.Errorf("object %s written with encryption %q, want AES256", k, sse[k])
		}
		if strings.Contains(k, "alice") {
			t.Errorf("object key %s names the owner", k)
		}
	}
	if len(keys) != 3 {
		t.Errorf("objects %v, want the index and two entries", keys)
	}
	var lookup *results.LookupError
	if _, err := store.Get(ctx, "mallory", id, false); !errors.As(err, &lookup) || lookup.Reason != "unknown" {
		t.Errorf("another owner's Get = %v, want unknown", err)
	}
}

// TestStoreEncryptsWithKMSKey: with a KMS key, every object asks for
// SSE-KMS instead of SSE-S3.
func TestStoreEncryptsWithKMSKey(t *testing.T) {
	t.Parallel()
	store, fake := newStore(t, nil)
	store.opts.KMSKeyID = "alias/results"
	ctx := context.Background()
	a := &results.Answer{ToolName: "aws___call_aws", Results: []results.Entry{entry("222222222222", results.StatusPending, "")}}
	id, err := store.Create(ctx, "alice@example.com", a)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "alice@example.com", id, 0, entry("222222222222", results.StatusSuccess, "{}")); err != nil {
		t.Fatal(err)
	}
	keys, sse := fake.Puts()
	if len(keys) != 2 {
		t.Fatalf("objects %v, want the index and one entry", keys)
	}
	for _, k := range keys {
		if sse[k] != "aws:kms" {
			t.Errorf("object %s written with encryption %q, want aws:kms", k, sse[k])
		}
	}
}

func TestStoreExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	store, _ := newStore(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	ctx := context.Background()
	id, err := store.Create(ctx, "", &results.Answer{ToolName: "t", Results: []results.Entry{entry("222222222222", results.StatusSuccess, "x")}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	var lookup *results.LookupError
	if _, err := store.Get(ctx, "", id, false); !errors.As(err, &lookup) || lookup.Reason != "expired" {
		t.Errorf("Get after the TTL = %v, want expired", err)
	}
}

// TestPutKeepsAPlainAnswerKeptAsText: an entry kept as its text alone (the
// fan-out's and the memory store's one copy) is written with its data.
func TestPutKeepsAPlainAnswerKeptAsText(t *testing.T) {
	t.Parallel()
	e := results.Entry{AccountID: "222222222222", Region: "us-east-1", Status: results.StatusSuccess,
		Data: json.RawMessage(`{"content":[{"type":"text","text":"{\"Buckets\": []}"}],"isError":false}`)}
	kept := e.Kept()
	if kept.Data != nil {
		t.Fatal("a plain answer kept its Data beside its text")
	}
	if got := results.Text(kept.Raw()); got != `{"Buckets": []}` {
		t.Errorf("Raw of a kept plain answer: %s", got)
	}
}
