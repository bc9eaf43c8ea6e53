// Package fakes3 is a real S3 implementation in memory (gofakes3) behind
// SigV4 verification, for the tests of results kept in a bucket. It is a
// package of its own so the demo, which imports fakeaws, does not carry it.
package fakes3

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// S3 is a real S3 implementation in memory (gofakes3) behind SigV4
// verification: every request must be signed for service s3 by a
// credential the fakes know, as S3 requires. It records the encryption
// asked for on each object written. Reach it path-style (bucket in the
// path), as clients do for a custom endpoint.
type S3 struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_S3).
	URL string

	verifier fakeaws.Verifier
	backend  *s3mem.Backend
	handler  http.Handler
	srv      *httptest.Server

	mu         sync.Mutex
	puts       map[string]string // key → x-amz-server-side-encryption
	rejections []string
	gets       int
}

// Start runs the fake on 127.0.0.1 with a bucket, accepting requests
// signed by the credentials in keys.
func Start(keys *fakeaws.Keyring, bucket string) (*S3, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return nil, err
	}
	s := &S3{
		verifier: fakeaws.Verifier{Keys: keys, Service: "s3", S3: true},
		backend:  backend,
		handler:  gofakes3.New(backend, gofakes3.WithAutoBucket(false)).Server(),
		puts:     map[string]string{},
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the fake.
func (s *S3) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// ServeHTTP verifies the signature, then lets gofakes3 answer.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if _, apiErr := s.verifier.Verify(r, body); apiErr != nil {
		s.mu.Lock()
		s.rejections = append(s.rejections, apiErr.Error())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(apiErr.Status)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+apiErr.Code+`</Code><Message>`+apiErr.Message+`</Message></Error>`)
		return
	}
	s.mu.Lock()
	switch r.Method {
	case http.MethodPut:
		s.puts[strings.TrimPrefix(r.URL.Path, "/")] = r.Header.Get("X-Amz-Server-Side-Encryption")
	case http.MethodGet:
		s.gets++
	}
	s.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.handler.ServeHTTP(w, r)
}

// Puts returns the keys written ("bucket/key"), sorted, and the
// server-side encryption each asked for.
func (s *S3) Puts() ([]string, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.puts))
	sse := make(map[string]string, len(s.puts))
	for k, v := range s.puts {
		keys = append(keys, k)
		sse[k] = v
	}
	sort.Strings(keys)
	return keys, sse
}

// Gets counts the GET requests answered.
func (s *S3) Gets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// Rejections returns why requests were refused.
func (s *S3) Rejections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejections...)
}
