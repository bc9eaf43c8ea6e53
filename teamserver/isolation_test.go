package teamserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// TestStreamFilterDropsRefusedEvents: SSE events are kept or dropped
// whole, however the writes split them; a JSON body passes untouched.
func TestStreamFilterDropsRefusedEvents(t *testing.T) {
	t.Parallel()
	mine := `event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"mine","status":"completed"}}` + "\n\n"
	theirs := strings.Replace(mine, "mine", "theirs", 1)
	progress := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n"
	keep := func(ev []byte) bool {
		id, ok := taskStatusOf(ev)
		return !ok || id == "mine"
	}
	tests := []struct {
		name, contentType string
		writes            []string
		want              string
	}{
		{"whole events", "text/event-stream", []string{mine, theirs, progress}, mine + progress},
		{"events split across writes", "text/event-stream", []string{mine[:10], mine[10:] + theirs[:30], theirs[30:] + progress}, mine + progress},
		{"a JSON body", "application/json", []string{`{"method":"notifications/tasks/status","params":{"taskId":"theirs"}}`}, `{"method":"notifications/tasks/status","params":{"taskId":"theirs"}}`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		f := &streamFilter{ResponseWriter: rec, keep: keep}
		f.Header().Set("Content-Type", tt.contentType)
		for _, w := range tt.writes {
			if n, err := f.Write([]byte(w)); n != len(w) || err != nil {
				t.Errorf("%s: Write = %d, %v", tt.name, n, err)
			}
		}
		f.Flush()
		if got := rec.Body.String(); got != tt.want {
			t.Errorf("%s: wrote %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestOwnersBindSessionlessRequests: a request without a session runs
// under a session id of its caller, the same for the same caller and
// different for another; a request with a session keeps it.
func TestOwnersBindSessionlessRequests(t *testing.T) {
	t.Parallel()
	srv := server.NewMCPServer("t", "1")
	o := newOwners()
	alice, bob := &proxy.Caller{ID: "iss#alice"}, &proxy.Caller{ID: "iss#bob"}
	idOf := func(session server.ClientSession, c *proxy.Caller) string {
		ctx := o.bind(srv.WithContext(context.Background(), session), srv, c)
		return server.ClientSessionFromContext(ctx).SessionID()
	}
	none := server.NewInProcessSession("", nil)
	a1, a2, b := idOf(none, alice), idOf(none, alice), idOf(none, bob)
	if a1 == "" || a1 != a2 || a1 == b || strings.Contains(a1, "alice") {
		t.Errorf("sessionless ids: alice %q and %q, bob %q", a1, a2, b)
	}
	if got := idOf(none, nil); got != "" {
		t.Errorf("no caller: session id %q, want none", got)
	}
	if got := idOf(server.NewInProcessSession("mcp-session-1", nil), alice); got != "mcp-session-1" {
		t.Errorf("a request with a session runs under %q", got)
	}
	if other := newOwners().keyOf(alice.ID); other == a1 {
		t.Error("owner keys are the same in two processes: they would be guessable")
	}
}

// TestOwnerSessionPassesEverythingElse: mcp-go's own Streamable HTTP
// session implements every interface the owner session passes through,
// so renaming it loses nothing (notifications, per-session tools, client
// requests).
func TestOwnerSessionPassesEverythingElse(t *testing.T) {
	t.Parallel()
	srv := server.NewMCPServer("t", "1", server.WithToolCapabilities(true))
	var seen server.ClientSession
	srv.AddTool(mcp.NewTool("probe"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		seen = server.ClientSessionFromContext(ctx)
		return mcp.NewToolResultText("ok"), nil
	})
	h := server.NewStreamableHTTPServer(srv, server.WithStateLess(true), server.WithHTTPContextFunc(func(ctx context.Context, _ *http.Request) context.Context {
		return newOwners().bind(ctx, srv, &proxy.Caller{ID: "x"})
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"probe"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	h.ServeHTTP(rec, req)
	if _, ok := seen.(*namedSession); !ok {
		t.Fatalf("the tool saw a %T (HTTP %d %s): mcp-go's session no longer implements what namedSession passes through", seen, rec.Code, rec.Body)
	}
}

func TestVerifiedEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims Claims
		email  string
	}{
		{"verified", Claims{"email": "a@x.com", "email_verified": true}, "a@x.com"},
		{"verified, as a string", Claims{"email": "a@x.com", "email_verified": "true"}, "a@x.com"},
		{"not said", Claims{"email": "a@x.com"}, "a@x.com"},
		{"unverified", Claims{"email": "a@x.com", "email_verified": false}, ""},
		{"unverified, as a string", Claims{"email": "a@x.com", "email_verified": "false"}, ""},
	}
	for _, tt := range tests {
		if got := tt.claims.verifiedEmail().String("email"); got != tt.email {
			t.Errorf("%s: email %q, want %q", tt.name, got, tt.email)
		}
	}
}

func TestCallerSessionsOwns(t *testing.T) {
	t.Parallel()
	c := newCallerSessions()
	id := c.ResolveSessionIdManager(httptest.NewRequest("GET", "/", nil).WithContext(proxy.WithCaller(context.Background(), &proxy.Caller{ID: "alice"}))).Generate()
	if !c.owns("alice", id) || c.owns("bob", id) || c.owns("alice", "mcp-session-unknown") {
		t.Error("owns")
	}
}
