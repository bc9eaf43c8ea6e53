package teamserver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// Everything a caller starts belongs to that caller: its session, its
// tasks, its requests (and so their cancellation), its notifications.
//
// mcp-go v1.2.1 isolates all of these by MCP session id alone. A stateful
// session of ours is bound to its caller (callerSessions), but a request
// with no session has the id "" — every --stateless request, and every
// request of protocol 2026-07-28, which has no sessions — and mcp-go then
// checks nothing: tasks/get, tasks/result, tasks/cancel and tasks/list see
// every sessionless task, and notifications/cancelled cancels any
// sessionless request with that JSON-RPC id. The GET stream does not check
// the session id at all, DELETE ends any session, and task status is
// broadcast to every stream. What upstream should change: bind tasks and
// in-flight requests to an owner the application names (a hook from the
// HTTP request to an owner key), validate the session id on GET and DELETE
// as on POST, and send notifications/tasks/status to the task's session
// only.
//
// Until then this file closes each hole in our layer:
//   - a sessionless request runs under a session whose id is the caller's
//     owner key (ownerSession), so mcp-go's own session checks bind its
//     tasks and its cancellation to the caller;
//   - GET and DELETE name a session of the caller or get 404, as POST does;
//     --stateless refuses them (405: there is no session to listen to or
//     end), and ignores a client's Mcp-Session-Id;
//   - streams drop notifications/tasks/status of tasks another caller
//     started (streamFilter).

// owners names callers in mcp-go's session-id space.
type owners struct {
	key [32]byte
}

func newOwners() *owners {
	o := &owners{}
	if _, err := rand.Read(o.key[:]); err != nil {
		panic(err)
	}
	return o
}

// keyOf is the session id under which a caller's sessionless requests run:
// keyed with a secret of this process, so no one can name another caller's.
func (o *owners) keyOf(callerID string) string {
	mac := hmac.New(sha256.New, o.key[:])
	mac.Write([]byte(callerID))
	return "caller-" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// bind returns ctx with its MCP session named for the caller when the
// request has no session of its own.
func (o *owners) bind(ctx context.Context, mcpServer *server.MCPServer, caller *proxy.Caller) context.Context {
	session := server.ClientSessionFromContext(ctx)
	if caller == nil || session == nil || session.SessionID() != "" {
		return ctx
	}
	return mcpServer.WithContext(ctx, ownerSession(session, o.keyOf(caller.ID)))
}

// httpSession is what mcp-go's Streamable HTTP session implements; the
// owner session passes every part of it through.
type httpSession interface {
	server.SessionWithLogging
	server.SessionWithTools
	server.SessionWithResources
	server.SessionWithResourceTemplates
	server.SessionWithStreamableHTTPConfig
	server.SessionWithSubscriptionFilter
	server.SessionWithSampling
	server.SessionWithElicitation
	server.SessionWithRoots
}

// ownerSession renames session id. Only the id differs: notifications,
// per-session state and requests to the client go to the session itself.
func ownerSession(session server.ClientSession, id string) server.ClientSession {
	if full, ok := session.(httpSession); ok {
		return &namedSession{httpSession: full, id: id}
	}
	return &namedClientSession{ClientSession: session, id: id}
}

type namedSession struct {
	httpSession
	id string
}

func (s *namedSession) SessionID() string { return s.id }

type namedClientSession struct {
	server.ClientSession
	id string
}

func (s *namedClientSession) SessionID() string { return s.id }

var _ httpSession = (*namedSession)(nil)

// streamFilter passes an SSE response through, dropping the events keep
// refuses; other responses pass untouched. mcp-go writes one event per
// Write, but the filter does not rely on it.
type streamFilter struct {
	http.ResponseWriter
	keep    func(event []byte) bool
	decided bool
	sse     bool
	pending []byte
}

func (f *streamFilter) Write(p []byte) (int, error) {
	if !f.decided {
		f.decided = true
		f.sse = bytes.HasPrefix([]byte(f.Header().Get("Content-Type")), []byte("text/event-stream"))
	}
	if !f.sse {
		return f.ResponseWriter.Write(p)
	}
	f.pending = append(f.pending, p...)
	for {
		end := bytes.Index(f.pending, []byte("\n\n"))
		if end < 0 {
			break
		}
		event := f.pending[:end+2]
		if f.keep(event) {
			if _, err := f.ResponseWriter.Write(event); err != nil {
				return 0, err
			}
		}
		f.pending = f.pending[end+2:]
	}
	if len(f.pending) == 0 {
		f.pending = nil
	}
	return len(p), nil
}

// Flush implements http.Flusher (mcp-go streams only through one).
func (f *streamFilter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (f *streamFilter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// taskStatusOf returns the task id of an SSE event carrying
// notifications/tasks/status.
func taskStatusOf(event []byte) (string, bool) {
	if !bytes.Contains(event, []byte(mcp.MethodNotificationTasksStatus)) {
		return "", false
	}
	for _, line := range bytes.Split(event, []byte("\n")) {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		var msg struct {
			Method string `json:"method"`
			Params struct {
				TaskID string `json:"taskId"`
			} `json:"params"`
		}
		if json.Unmarshal(bytes.TrimSpace(data), &msg) == nil && msg.Method == mcp.MethodNotificationTasksStatus {
			return msg.Params.TaskID, true
		}
	}
	return "", false
}
