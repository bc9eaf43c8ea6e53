// Package s3store keeps stored results in an S3 bucket, so any process
// (another Lambda container, another task behind a load balancer) can
// answer get_result for a result another one made.
//
// A result is an index object (the answer's entries without their data)
// and one object per account and region with that entry's full answer.
// Keys are grouped by a hash of the owner, never the owner's identity
// itself. Objects are written with server-side encryption; the bucket's
// lifecycle rule removes them (a day in the templates), and a result older
// than the store's TTL is reported expired even while its objects remain.
package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// API is the part of the S3 client the store uses.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Options configures a Store.
type Options struct {
	// Bucket and Prefix say where results go ("results/" by default).
	Bucket, Prefix string
	// TTL is how long a result is readable (results.DefaultTTL when 0).
	TTL time.Duration
	// KMSKeyID encrypts with that KMS key; SSE-S3 (AES256) when "".
	KMSKeyID string
	// MaxObjectBytes bounds what is read back of one object (16 MiB when 0).
	MaxObjectBytes int64
	// Concurrency bounds the objects read at once by Get (16 when 0).
	Concurrency int
	// Now is the store's clock; time.Now when nil.
	Now func() time.Time
}

// Store is a results.Store in S3. It is safe for concurrent use.
type Store struct {
	api  API
	opts Options
	now  func() time.Time
}

// New returns a store over an S3 client.
func New(api API, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = "results/"
	}
	if opts.TTL <= 0 {
		opts.TTL = results.DefaultTTL
	}
	if opts.MaxObjectBytes <= 0 {
		opts.MaxObjectBytes = 16 << 20
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{api: api, opts: opts, now: opts.Now}
}

// TTL is how long a result is readable.
func (s *Store) TTL() time.Duration { return s.opts.TTL }

// index is the object that describes a result.
type index struct {
	ID      string         `json:"id"`
	Created time.Time      `json:"created"`
	Answer  results.Answer `json:"answer"`
}

// dir is the key prefix of one owner's result.
func (s *Store) dir(owner, id string) string {
	sum := sha256.Sum256([]byte(owner))
	return s.opts.Prefix + hex.EncodeToString(sum[:16]) + "/" + id + "/"
}

func (s *Store) indexKey(owner, id string) string { return s.dir(owner, id) + "index.json" }

func (s *Store) entryKey(owner, id string, i int) string {
	return fmt.Sprintf("%sentry-%05d.json", s.dir(owner, id), i)
}

// Create writes the index of a new result, and the entries already final.
func (s *Store) Create(ctx context.Context, owner string, a *results.Answer) (string, error) {
	id := results.NewID()
	idx := index{ID: id, Created: s.now().UTC(), Answer: *a}
	idx.Answer.Summary.ResultID = id
	idx.Answer.Results = withoutData(a.Results)
	if err := s.put(ctx, s.indexKey(owner, id), idx); err != nil {
		return "", err
	}
	for i, e := range a.Results {
		if e.Finished() {
			if err := s.Put(ctx, owner, id, i, e); err != nil {
				return "", err
			}
		}
	}
	return id, nil
}

// Put writes target i's entry with its data (the upstream's whole result,
// rebuilt for a plain answer kept as its text).
func (s *Store) Put(ctx context.Context, owner, id string, i int, e results.Entry) error {
	e.Data = e.Raw()
	return s.put(ctx, s.entryKey(owner, id, i), e)
}

// Finish rewrites the index with every entry's final status.
func (s *Store) Finish(ctx context.Context, owner, id string, sum results.Summary) error {
	idx, err := s.index(ctx, owner, id)
	if err != nil {
		return err
	}
	if err := s.refresh(ctx, owner, idx, false); err != nil {
		return err
	}
	sum.ResultID = id
	idx.Answer.Summary = sum
	idx.Answer.Results = withoutData(idx.Answer.Results)
	return s.put(ctx, s.indexKey(owner, id), idx)
}

// Get reads a result: its index, and the entries it still lists as pending
// (they may have landed since); withData reads every entry's data too.
func (s *Store) Get(ctx context.Context, owner, id string, withData bool) (*results.Record, error) {
	idx, err := s.index(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if err := s.refresh(ctx, owner, idx, withData); err != nil {
		return nil, err
	}
	return &results.Record{ID: idx.ID, Created: idx.Created, Answer: idx.Answer}, nil
}

// Entry reads target i's entry with its data.
func (s *Store) Entry(ctx context.Context, owner, id string, i int) (results.Entry, error) {
	var e results.Entry
	found, err := s.get(ctx, s.entryKey(owner, id, i), &e)
	if err != nil {
		return e, err
	}
	if !found {
		return e, &results.LookupError{ID: id, Reason: "unknown", TTL: s.opts.TTL}
	}
	return e, nil
}

// index reads a result's index, refusing one past its TTL.
func (s *Store) index(ctx context.Context, owner, id string) (*index, error) {
	var idx index
	found, err := s.get(ctx, s.indexKey(owner, id), &idx)
	if err != nil {
		return nil, err
	}
	if !found || idx.ID != id {
		return nil, &results.LookupError{ID: id, Reason: "unknown", TTL: s.opts.TTL}
	}
	if s.now().Sub(idx.Created) >= s.opts.TTL {
		return nil, &results.LookupError{ID: id, Reason: "expired", TTL: s.opts.TTL}
	}
	return &idx, nil
}

// refresh reads the entries of idx that are pending (or, withData, all of
// them) from their own objects, a few at a time.
func (s *Store) refresh(ctx context.Context, owner string, idx *index, withData bool) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.opts.Concurrency)
	var mu sync.Mutex
	var firstErr error
	for i, e := range idx.Answer.Results {
		if e.Finished() && !withData {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var got results.Entry
			found, err := s.get(ctx, s.entryKey(owner, idx.ID, i), &got)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr = err
			case found:
				idx.Answer.Results[i] = got
			}
		})
	}
	wg.Wait()
	return firstErr
}

func withoutData(entries []results.Entry) []results.Entry {
	out := make([]results.Entry, len(entries))
	for i, e := range entries {
		if e.Data != nil && e.Status == results.StatusSuccess {
			e.Bytes = len(results.Text(e.Data))
		}
		e.Data = nil
		out[i] = e
	}
	return out
}

// put writes v as a JSON object, encrypted at rest.
func (s *Store) put(ctx context.Context, key string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:               aws.String(s.opts.Bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(body),
		ContentLength:        aws.Int64(int64(len(body))),
		ContentType:          aws.String("application/json"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	}
	if s.opts.KMSKeyID != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, aws.String(s.opts.KMSKeyID)
	}
	if _, err := s.api.PutObject(ctx, in); err != nil {
		return fmt.Errorf("store result object s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	return nil
}

// get reads a JSON object into v; a missing object is found == false.
func (s *Store) get(ctx context.Context, key string, v any) (found bool, err error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		var missing *types.NoSuchKey
		if errors.As(err, &missing) {
			return false, nil
		}
		return false, fmt.Errorf("read result object s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, s.opts.MaxObjectBytes+1))
	if err != nil {
		return false, fmt.Errorf("read result object s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	if int64(len(body)) > s.opts.MaxObjectBytes {
		return false, fmt.Errorf("result object s3://%s/%s is larger than %d bytes", s.opts.Bucket, key, s.opts.MaxObjectBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("decode result object s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	return true, nil
}
