package teamserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// Cancellation belongs to the caller. mcp-go v1.2.1 keys a request in
// flight by its MCP session id and JSON-RPC id (server.inflightKey), keeps
// one request per key (a second with the same id replaces the first, and
// the first's end forgets the second), and leaves that key to whatever
// session the context carries. notifications/cancelled is therefore
// answered here and never reaches mcp-go: a request is cancellable under
// its caller, its session (none for --stateless and protocol 2026-07-28)
// and its id, every request with that key at once. What upstream should
// change: key in-flight requests by an owner the application names, and
// keep every request of a key.

// inflight are the requests in flight, by cancellation key.
type inflight struct {
	mu       sync.Mutex
	requests map[string]requestSet
}

// requestSet is the cancels of the requests of one key.
type requestSet map[*context.CancelFunc]struct{}

func newInflight() *inflight {
	return &inflight{requests: map[string]requestSet{}}
}

// track registers a request's cancel under key until untrack.
func (f *inflight) track(key string, cancel context.CancelFunc) (untrack func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set := f.requests[key]
	if set == nil {
		set = requestSet{}
		f.requests[key] = set
	}
	set[&cancel] = struct{}{}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(set, &cancel)
		if len(set) == 0 && len(f.requests[key]) == 0 {
			delete(f.requests, key)
		}
	}
}

// cancel cancels every request in flight under key; it returns how many.
func (f *inflight) cancel(key string) int {
	f.mu.Lock()
	set := f.requests[key]
	delete(f.requests, key)
	var cancels []*context.CancelFunc
	for c := range set {
		cancels = append(cancels, c)
	}
	f.mu.Unlock()
	for _, c := range cancels {
		(*c)()
	}
	return len(cancels)
}

// rpcMessage is what cancellation reads of a posted JSON-RPC message.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
}

// cancelKey names a request for cancellation: its caller, its session and
// its JSON-RPC id (compacted, so 7 and 7 with spaces are one id).
func cancelKey(owner, session string, id json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, id) != nil {
		b.Reset()
		b.Write(id)
	}
	return owner + "\x00" + session + "\x00" + b.String()
}

// cancellable tracks each posted request under its key and answers
// notifications/cancelled itself (202, as MCP Streamable HTTP answers a
// notification), cancelling only the caller's own requests. The body was
// read by limitBody; isolate has dropped a --stateless client's session.
func (s *Server) cancellable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "bad_request", "cannot read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg rpcMessage
		if json.Unmarshal(body, &msg) != nil {
			next.ServeHTTP(w, r)
			return
		}
		owner := s.owners.keyOf(callerID(proxy.CallerFrom(r.Context())))
		session := r.Header.Get(server.HeaderKeySessionID)
		switch {
		case msg.Method == "notifications/cancelled" && len(msg.ID) == 0:
			if len(msg.Params.RequestID) > 0 {
				n := s.requests.cancel(cancelKey(owner, session, msg.Params.RequestID))
				s.cfg.Log.Debug("request cancelled by its caller", "request_id", string(msg.Params.RequestID), "cancelled", n)
			}
			w.WriteHeader(http.StatusAccepted)
			return
		case msg.Method != "" && len(msg.ID) > 0 && string(msg.ID) != "null":
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer s.requests.track(cancelKey(owner, session, msg.ID), cancel)()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}
