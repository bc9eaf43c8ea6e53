package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/testutil"
)

const acct = "222222222222"

// fixture is a pool against the fake AWS MCP Server, signing with a
// temporary credential the fake knows.
type fixture struct {
	stack *fakeaws.Stack
	pool  *Pool
	creds aws.CredentialsProvider
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: []fakeaws.Account{{ID: acct, Name: "a"}}})
	t.Cleanup(stack.Close)
	cred := fakeaws.Credential{AccessKeyID: "ASIAPOOLTEST00000001", SecretAccessKey: "s", SessionToken: "t", Account: acct,
		Principal: "arn:aws:sts::" + acct + ":assumed-role/R/s"}
	stack.Keys.Add(cred)
	opts.Endpoint = stack.MCPURL
	opts.SigningRegion = "us-east-1"
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}
	}
	pool, err := NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close(context.Background()) })
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}, nil
	})
	return &fixture{stack: stack, pool: pool, creds: creds}
}

func (f *fixture) call(t *testing.T, tool string, readOnly bool) (json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := json.RawMessage(`{"cli_command":"aws sts get-caller-identity"}`)
	if tool != fakeaws.ToolCallAWS {
		args = json.RawMessage(`{}`)
	}
	return f.pool.CallTool(ctx, Target{AccountID: acct, Credentials: f.creds}, tool, args, "eu-west-1", readOnly)
}

func TestCallToolCarriesRegionInMeta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	res, err := f.call(t, fakeaws.ToolCallAWS, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), acct) {
		t.Errorf("result %s", res)
	}
	calls := f.stack.MCP.Calls()
	if len(calls) != 1 || calls[0].Region != "eu-west-1" || calls[0].Account != acct {
		t.Errorf("upstream saw %+v", calls)
	}
}

// TestPoolToldOfCallsInFlight: InFlight hears of each call (with the
// initialize it may need) as it starts and as it ends, also when it fails.
func TestPoolToldOfCallsInFlight(t *testing.T) {
	t.Parallel()
	var now, most, started atomic.Int64
	f := newFixture(t, Options{InFlight: func(delta int) {
		n := now.Add(int64(delta))
		if delta > 0 {
			started.Add(1)
		}
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
	}})
	if _, err := f.call(t, fakeaws.ToolCallAWS, true); err != nil {
		t.Fatal(err)
	}
	f.stack.MCP.FailCalls(acct, http.StatusForbidden, 1, "")
	if _, err := f.call(t, fakeaws.ToolCallAWS, true); err == nil {
		t.Fatal("the refused call succeeded")
	}
	if now.Load() != 0 || most.Load() != 1 || started.Load() != 2 {
		t.Errorf("in flight after the calls %d, at most %d, started %d; want 0, 1, 2", now.Load(), most.Load(), started.Load())
	}
}

// TestUpstreamStatusFaults checks which failed answers are retried: those
// that cannot have taken effect always, the others only for read-only tools.
func TestUpstreamStatusFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       int
		times      int
		retryAfter string
		readOnly   bool
		wantCalls  int
		wantErr    string
	}{
		{name: "503 is retried then succeeds", code: 503, times: 2, wantCalls: 3},
		{name: "429 with Retry-After is retried", code: 429, times: 1, retryAfter: "1", wantCalls: 2},
		{name: "500 on a read-only tool is retried", code: 500, times: 1, readOnly: true, wantCalls: 2},
		{name: "500 on a write tool is not retried", code: 500, times: 1, wantCalls: 1, wantErr: "upstream answered HTTP 500"},
		{name: "502 on a write tool is not retried", code: 502, times: 1, wantCalls: 1, wantErr: "HTTP 502"},
		{name: "502 that persists fails after the attempts", code: 502, times: -1, readOnly: true, wantCalls: 3, wantErr: "HTTP 502"},
		{name: "429 asking for too long a wait is not retried", code: 429, times: 1, retryAfter: "3600", wantCalls: 1, wantErr: "HTTP 429"},
		{name: "403 is never retried", code: 403, times: 1, readOnly: true, wantCalls: 1, wantErr: "HTTP 403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			f.stack.MCP.FailCalls(acct, tt.code, tt.times, tt.retryAfter)
			start := time.Now()
			_, err := f.call(t, fakeaws.ToolCallAWS, tt.readOnly)
			if got := f.stack.MCP.CallCount(acct); got != tt.wantCalls {
				t.Errorf("upstream received %d calls, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("err = %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.retryAfter == "1" && time.Since(start) < 900*time.Millisecond {
				t.Errorf("Retry-After: 1 was not honoured (%s)", time.Since(start))
			}
		})
	}
}

// TestUpstreamBodyFaults feeds broken answers to the client.
func TestUpstreamBodyFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		override fakeaws.Override
		opts     Options
		wantErr  string
	}{
		{
			name: "connection reset",
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return true
			},
			wantErr: "connection closed before an answer",
		},
		{
			name: "SSE stream cut mid-response",
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(200)
				fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"te", id)
				w.(http.Flusher).Flush()
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return true
			},
			wantErr: "stream",
		},
		{
			name: "body over the size limit",
			opts: Options{MaxResponseBytes: 64 << 10},
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"%s"}]}}`, id, strings.Repeat("x", 1<<20))
				return true
			},
			wantErr: "exceeds the size limit",
		},
		{
			name: "SSE body over the size limit",
			opts: Options{MaxResponseBytes: 64 << 10},
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"%s\"}]}}\n\n", id, strings.Repeat("x", 1<<20))
				return true
			},
			wantErr: "exceeds the size limit",
		},
		{
			name: "invalid JSON",
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("this is not json"))
				return true
			},
			wantErr: "decode response",
		},
		{
			name: "a JSON-RPC error object",
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32603,"message":"database on fire"}}`, id)
				return true
			},
			wantErr: "upstream JSON-RPC error -32603: database on fire",
		},
		{
			name: "a result that is not an object",
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":42}`, id)
				return true
			},
			wantErr: "without a result object",
		},
		{
			name: "an unexpected content type",
			override: func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html>proxy login</html>"))
				return true
			},
			wantErr: "content type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.opts)
			f.stack.MCP.SetOverride(acct, tt.override)
			_, err := f.call(t, fakeaws.ToolCallAWS, false)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			// The session keeps serving once the fault is gone.
			f.stack.MCP.SetOverride(acct, nil)
			if _, err := f.call(t, fakeaws.ToolCallAWS, false); err != nil {
				t.Errorf("after the fault: %v", err)
			}
		})
	}
}

func TestExpiredSessionIsReinitializedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	if _, err := f.call(t, fakeaws.ToolCallAWS, false); err != nil {
		t.Fatal(err)
	}
	f.stack.MCP.ExpireSessions()
	if _, err := f.call(t, fakeaws.ToolCallAWS, false); err != nil {
		t.Fatalf("after session expiry: %v", err)
	}
	if n := f.stack.MCP.SessionsOpened(); n != 2 {
		t.Errorf("%d sessions opened, want 2 (one re-initialize)", n)
	}
	if n := f.pool.SessionsOpened(); n != 2 {
		t.Errorf("pool counted %d sessions, want 2", n)
	}
}

func TestSSEAnswersAreAccepted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.stack.MCP.SetSSE(true)
	res, err := f.call(t, fakeaws.ToolCallAWS, false)
	if err != nil || !strings.Contains(string(res), acct) {
		t.Fatalf("SSE answer: %s, %v", res, err)
	}
}

func TestCancellationAbortsTheUpstreamRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	if _, err := f.call(t, fakeaws.ToolCallAWS, false); err != nil { // open the session
		t.Fatal(err)
	}
	f.stack.MCP.SetLatency(acct, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.pool.CallTool(ctx, Target{AccountID: acct, Credentials: f.creds}, fakeaws.ToolCallAWS, json.RawMessage(`{}`), "", false)
		done <- err
	}()
	waitFor(t, func() bool { return f.stack.MCP.Inflight() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	waitFor(t, func() bool { return f.stack.MCP.Aborted() == 1 })
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "condition", cond)
}

func TestEndpointSafety(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint string
		ok       bool
	}{
		{"https://aws-mcp.us-east-1.api.aws/mcp", true},
		{"http://127.0.0.1:8080/mcp", true},
		{"http://[::1]:8080/mcp", true},
		{"http://localhost:8080/mcp", true},
		{"http://aws-mcp.us-east-1.api.aws/mcp", false},
		{"http://10.0.0.5/mcp", false},
		{"ftp://example.com/mcp", false},
		{"https://user:pass@example.com/mcp", false},
		{"/mcp", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := ValidateEndpoint(tt.endpoint); (err == nil) != tt.ok {
			t.Errorf("ValidateEndpoint(%q) = %v, want ok=%v", tt.endpoint, err, tt.ok)
		}
	}
}

// TestRedirectsAreNotFollowed checks a signed request never reaches another host.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
	}))
	defer elsewhere.Close()
	f := newFixture(t, Options{})
	f.stack.MCP.SetOverride(acct, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
		return true
	})
	if _, err := f.call(t, fakeaws.ToolCallAWS, true); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("err = %v, want a redirect that was not followed", err)
	}
	if reached.Load() != 0 {
		t.Errorf("the redirect target received %d requests", reached.Load())
	}
}

// TestTLSIsVerified checks an untrusted certificate is refused.
func TestTLSIsVerified(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	pool, err := NewPool(Options{Endpoint: srv.URL + "/mcp", SigningRegion: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIA", SecretAccessKey: "s"}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pool.CallTool(ctx, Target{AccountID: acct, Credentials: creds}, "x", json.RawMessage(`{}`), "", true)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v, want a certificate error", err)
	}
}
