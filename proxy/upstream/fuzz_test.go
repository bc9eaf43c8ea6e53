package upstream

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FuzzUpstreamAnswer serves arbitrary answers (as JSON or SSE) to a pool
// whose session is already initialized: CallTool must not panic or hang,
// and any result it returns is a JSON object.
func FuzzUpstreamAnswer(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":"call-1","result":{"content":[{"type":"text","text":"ok"}]}}`), false)
	f.Add([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"call-1\",\"result\":{}}\n\n"), true)
	f.Add([]byte(`{"jsonrpc":"2.0","id":"call-1","error":{"code":-1,"message":"x"}}`), false)
	f.Add([]byte("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\ndata: {"), true)
	f.Add([]byte(`{"jsonrpc":"2.0","id":null}`), false)

	var mu sync.Mutex
	var body []byte
	var sse bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		switch req.Method {
		case "initialize":
			w.Header().Set("Mcp-Session-Id", "s1")
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"f","version":"1"}}}`))
		case "notifications/initialized":
			w.WriteHeader(http.StatusAccepted)
		default:
			mu.Lock()
			b, s := body, sse
			mu.Unlock()
			if s {
				w.Header().Set("Content-Type", "text/event-stream")
			} else {
				w.Header().Set("Content-Type", "application/json")
			}
			w.Write(b)
		}
	}))
	defer srv.Close()
	pool, err := NewPool(Options{Endpoint: srv.URL, SigningRegion: "us-east-1", MaxResponseBytes: 1 << 16, Retry: RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		f.Fatal(err)
	}
	defer pool.Close(context.Background())
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIA", SecretAccessKey: "s"}, nil
	})

	f.Fuzz(func(t *testing.T, answer []byte, asSSE bool) {
		mu.Lock()
		body, sse = answer, asSSE
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := pool.CallTool(ctx, Target{AccountID: "222222222222", Credentials: creds}, "t", json.RawMessage(`{}`), "", true)
		if err == nil && (len(res) == 0 || res[0] != '{') {
			t.Fatalf("accepted a non-object result %q", res)
		}
	})
}
