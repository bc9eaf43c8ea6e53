package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// rawMCP speaks MCP Streamable HTTP by hand, as an attacker's client
// would: with a session (protocol 2025-11-25), without one (a --stateless
// server, or protocol 2026-07-28, which has no sessions), with any
// session id it likes, and with any JSON-RPC id.
type rawMCP struct {
	url, token string
	// session is the Mcp-Session-Id sent ("" sends none).
	session string
	// modern sends protocol 2026-07-28 requests (no session, _meta).
	modern bool
	// caps are the client capabilities a modern request declares (nil:
	// none).
	caps map[string]any
	// timeout bounds each request (default 60 s).
	timeout time.Duration
	// headers are sent with every request (as a platform in front adds them).
	headers map[string]string
	ids     atomic.Int64

	mu   sync.Mutex
	seen []json.RawMessage // every notification any response carried
}

// rpcReply is one JSON-RPC answer.
type rpcReply struct {
	HTTPStatus int
	Result     json.RawMessage
	Error      *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
}

func (r rpcReply) String() string {
	if r.Error != nil {
		return fmt.Sprintf("HTTP %d, error %d %s", r.HTTPStatus, r.Error.Code, r.Error.Message)
	}
	return fmt.Sprintf("HTTP %d, result %.300s", r.HTTPStatus, r.Result)
}

const legacyProtocol = "2025-11-25"

// rawSession opens a session (initialize, then notifications/initialized);
// on a --stateless server it has no session id.
func (s *teamServer) rawSession(t *testing.T, token string) *rawMCP {
	t.Helper()
	c := &rawMCP{url: s.URL + "/mcp", token: token}
	resp, reply := c.post(t, nil, map[string]any{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": map[string]any{
		"protocolVersion": legacyProtocol, "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "raw", "version": "1"},
	}})
	if reply.Error != nil || reply.HTTPStatus != http.StatusOK {
		t.Fatalf("initialize: %s", reply)
	}
	c.session = resp.Header.Get("Mcp-Session-Id")
	c.notify(t, "notifications/initialized", nil)
	return c
}

// rawSessionless is a client of protocol 2026-07-28: no initialize, no
// session.
func (s *teamServer) rawSessionless(token string) *rawMCP {
	return &rawMCP{url: s.URL + "/mcp", token: token, modern: true}
}

// as returns a client that sends these requests with session id.
func (c *rawMCP) as(token, session string) *rawMCP {
	return &rawMCP{url: c.url, token: token, session: session, modern: c.modern}
}

// call sends a request with a fresh id and waits for its answer.
func (c *rawMCP) call(t *testing.T, method string, params map[string]any) rpcReply {
	t.Helper()
	return c.callID(t, c.ids.Add(1), method, params)
}

// callID sends a request with JSON-RPC id id.
func (c *rawMCP) callID(t *testing.T, id any, method string, params map[string]any) rpcReply {
	t.Helper()
	_, reply := c.post(t, nil, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": c.params(params)})
	return reply
}

// notify sends a notification.
func (c *rawMCP) notify(t *testing.T, method string, params map[string]any) int {
	t.Helper()
	resp, _ := c.post(t, nil, map[string]any{"jsonrpc": "2.0", "method": method, "params": c.params(params)})
	return resp.StatusCode
}

func (c *rawMCP) params(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		out[k] = v
	}
	if c.modern {
		out["_meta"] = map[string]any{
			mcp.MetaKeyProtocolVersion:    mcp.ProtocolVersion20260728,
			mcp.MetaKeyClientInfo:         map[string]any{"name": "raw", "version": "1"},
			mcp.MetaKeyClientCapabilities: c.caps,
		}
		if c.caps == nil {
			out["_meta"].(map[string]any)[mcp.MetaKeyClientCapabilities] = map[string]any{}
		}
	}
	return out
}

// post sends one message and reads its answer: a JSON body, or an SSE
// stream up to the response to the request (its notifications are kept
// in c.seen).
func (c *rawMCP) post(t *testing.T, ctx context.Context, msg map[string]any) (*http.Response, rpcReply) {
	t.Helper()
	body, _ := json.Marshal(msg)
	if ctx == nil {
		timeout := c.timeout
		if timeout == 0 {
			timeout = 60 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
		defer cancel()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	version := legacyProtocol
	if c.modern {
		version = mcp.ProtocolVersion20260728
		params, _ := json.Marshal(msg["params"])
		method, _ := msg["method"].(string)
		for k, v := range mcp.StandardHeaders(version, mcp.MCPMethod(method), params) {
			req.Header.Set(k, v)
		}
	}
	if msg["method"] != "initialize" {
		req.Header.Set("Mcp-Protocol-Version", version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil { // not Fatal: callers run in goroutines too
		t.Errorf("POST %s: %v", msg["method"], err)
		return &http.Response{Header: http.Header{}}, rpcReply{}
	}
	defer resp.Body.Close()
	reply := rpcReply{HTTPStatus: resp.StatusCode}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.readStream(resp.Body, func(m json.RawMessage) bool {
			if json.Unmarshal(m, &reply) == nil && (reply.Result != nil || reply.Error != nil) {
				return false
			}
			return true
		})
		return resp, reply
	}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &reply)
	return resp, reply
}

// readStream reads SSE events, keeping notifications, until more says stop.
func (c *rawMCP) readStream(r io.Reader, more func(json.RawMessage) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		msg := json.RawMessage(strings.TrimSpace(data))
		var probe struct {
			Method string `json:"method"`
			ID     any    `json:"id"`
		}
		json.Unmarshal(msg, &probe)
		if probe.Method != "" && probe.ID == nil {
			c.mu.Lock()
			c.seen = append(c.seen, msg)
			c.mu.Unlock()
		}
		if !more(msg) {
			return
		}
	}
}

// listen opens the GET stream of c's session; events arrive on the
// returned channel (and in c.seen) until the test ends. status is the
// HTTP status of the GET.
func (c *rawMCP) listen(t *testing.T) (status int, events <-chan json.RawMessage) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", legacyProtocol)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	ch := make(chan json.RawMessage, 256)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		close(ch)
		return resp.StatusCode, ch
	}
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		c.readStream(resp.Body, func(m json.RawMessage) bool {
			select {
			case ch <- m:
			default:
			}
			return true
		})
	}()
	return resp.StatusCode, ch
}

// delete ends c's session (DELETE with its session id).
func (c *rawMCP) delete(t *testing.T) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, c.url, nil)
	req.Header.Set("Mcp-Protocol-Version", legacyProtocol)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Mcp-Session-Id", c.session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// notifications returns every notification c's responses carried.
func (c *rawMCP) notifications() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.seen))
	for i, m := range c.seen {
		out[i] = string(m)
	}
	return out
}

// startTask calls query_all as an MCP task and returns the task id.
func (c *rawMCP) startTask(t *testing.T, args map[string]any) string {
	t.Helper()
	reply := c.call(t, "tools/call", map[string]any{"name": "query_all", "arguments": args, "task": map[string]any{"ttl": 600000}})
	var created mcp.CreateTaskResult
	if reply.Error != nil || json.Unmarshal(reply.Result, &created) != nil || created.Task.TaskId == "" {
		t.Errorf("task-augmented query_all: %s", reply)
	}
	return created.Task.TaskId
}

// fanout decodes a query_all answer (a tools/call or tasks/result result);
// helpers here report with Errorf, as they run in goroutines too.
func fanout(t *testing.T, reply rpcReply) queryAllOutput {
	t.Helper()
	var res struct {
		IsError           bool           `json:"isError"`
		StructuredContent queryAllOutput `json:"structuredContent"`
	}
	if reply.Error != nil || json.Unmarshal(reply.Result, &res) != nil {
		t.Errorf("query_all answer: %s", reply)
	}
	return res.StructuredContent
}

// awaitTask waits for a task to end and returns its answer. Protocol
// 2026-07-28 removed tasks/result, and mcp-go v1.2.1's tasks/get carries
// no result: a modern client only learns the task completed (ok false).
func (c *rawMCP) awaitTask(t *testing.T, id string) (out queryAllOutput, ok bool) {
	t.Helper()
	if !c.modern {
		return fanout(t, c.call(t, "tasks/result", map[string]any{"taskId": id})), true
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		reply := c.call(t, "tasks/get", map[string]any{"taskId": id})
		var task mcp.Task
		if reply.Error != nil || json.Unmarshal(reply.Result, &task) != nil {
			t.Errorf("tasks/get of its own task: %s", reply)
			return out, false
		}
		switch task.Status {
		case mcp.TaskStatusCompleted:
			return out, false
		case mcp.TaskStatusFailed, mcp.TaskStatusCancelled:
			t.Errorf("task %s ended %s: %s", id, task.Status, task.StatusMessage)
			return out, false
		}
		time.Sleep(20 * time.Millisecond) // polling the server, as a client does
	}
	t.Errorf("task %s did not end within 60 s", id)
	return out, false
}
