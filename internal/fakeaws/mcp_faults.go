package fakeaws

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// SetLatency delays tools/call answers for account by d.
func (m *MCPServer) SetLatency(account string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latency[account] = d
}

// SetDefaultLatency delays tools/call answers of accounts without their own latency.
func (m *MCPServer) SetDefaultLatency(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.defaultLatency = d
}

// Hold keeps every tools/call answer (after its latency) until release is
// called, so a test can act while calls are surely in flight; Inflight
// counts the held calls. Release is idempotent.
func (m *MCPServer) Hold() (release func()) {
	ch := make(chan struct{})
	m.mu.Lock()
	m.held = ch
	m.mu.Unlock()
	return sync.OnceFunc(func() {
		m.mu.Lock()
		if m.held == ch {
			m.held = nil
		}
		m.mu.Unlock()
		close(ch)
	})
}

// HoldAccounts keeps the tools/call answers of the accounts until release
// is called, as Hold does for every account. Release is idempotent.
func (m *MCPServer) HoldAccounts(accounts ...string) (release func()) {
	ch := make(chan struct{})
	m.mu.Lock()
	if m.heldAccounts == nil {
		m.heldAccounts = map[string]chan struct{}{}
	}
	for _, a := range accounts {
		m.heldAccounts[a] = ch
	}
	m.mu.Unlock()
	return sync.OnceFunc(func() {
		m.mu.Lock()
		for a, held := range m.heldAccounts {
			if held == ch {
				delete(m.heldAccounts, a)
			}
		}
		m.mu.Unlock()
		close(ch)
	})
}

// FailCalls answers the next n tools/call requests of account with HTTP
// status code (n < 0: all of them), with a Retry-After header when set.
func (m *MCPServer) FailCalls(account string, code, n int, retryAfter string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses[account] = &statusFault{code: code, retryAfter: retryAfter, remaining: n}
}

// SetOverride installs (or with nil removes) an Override for account.
func (m *MCPServer) SetOverride(account string, o Override) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o == nil {
		delete(m.overrides, account)
		return
	}
	m.overrides[account] = o
}

// DropConnections makes every request signed by account end with the
// connection closed and no answer, as an unreachable network path would.
func (m *MCPServer) DropConnections(account string, drop bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropped[account] = drop
}

// RecordCalls turns the recording of tool calls, signatures and rejections
// on or off (long soak runs turn it off so the fake's memory stays flat).
func (m *MCPServer) RecordCalls(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.noRecord = !on
}

// SetSSE makes the fake answer requests as text/event-stream.
func (m *MCPServer) SetSSE(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sse = on
}

// ExpireSessions forgets every session, so their next request gets 404.
func (m *MCPServer) ExpireSessions() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = map[string]*fakeSession{}
}

// Calls returns every tools/call received so far.
func (m *MCPServer) Calls() []ToolCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ToolCall(nil), m.calls...)
}

// CallCount returns how many tools/call requests account signed ("" for all).
func (m *MCPServer) CallCount(account string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		if account == "" || c.Account == account {
			n++
		}
	}
	return n
}

// SessionsOpened returns how many sessions initialize has created.
func (m *MCPServer) SessionsOpened() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessionsOpened
}

// Rejections returns the errors of requests refused for their signature.
func (m *MCPServer) Rejections() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.rejections...)
}

// Aborted returns how many delayed tools/call requests the client abandoned.
func (m *MCPServer) Aborted() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.aborted
}

// Inflight returns how many tools/call requests are being served now.
func (m *MCPServer) Inflight() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inflight
}

// Signatures returns every SigV4 signature the fake has seen.
func (m *MCPServer) Signatures() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.signatures...)
}

// Connections returns how many TCP connections clients opened to the fake
// (when it runs in a Stack).
func (m *MCPServer) Connections() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.connections
}

// countConnections is an http.Server ConnState hook counting new
// connections.
func (m *MCPServer) countConnections(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		m.mu.Lock()
		m.connections++
		m.mu.Unlock()
	}
}

// MaxInflight returns the most tools/call requests served at once.
func (m *MCPServer) MaxInflight() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxInflight
}

// SetPayload makes every aws___call_aws answer a bucket listing of about
// size bytes of JSON text, different in every account, and every
// aws___run_script answer the same listing as its return_value (0 restores
// the normal answers): large answers for budget and memory tests.
func (m *MCPServer) SetPayload(size int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.payload = size
	m.payloads = map[string]json.RawMessage{}
}

// payloadResult returns account's padded answer to tool, encoded once.
func (m *MCPServer) payloadResult(account, tool string) (json.RawMessage, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.payload <= 0 {
		return nil, false
	}
	if r, ok := m.payloads[tool+"/"+account]; ok {
		return r, true
	}
	text := PayloadText(account, m.payload)
	result := textResult(text)
	if tool == ToolRunScript {
		var v any
		_ = json.Unmarshal([]byte(text), &v)
		result = scriptResult(map[string]any{"status": "success", "return_value": v,
			"api_calls": []map[string]any{{"service": "s3", "operation": "ListBuckets", "status": "success", "n_items": countItems(v)}}})
	}
	r, _ := json.Marshal(result)
	m.payloads[tool+"/"+account] = r
	return r, true
}

// SetScriptTasks makes a script that runs longer than after (its
// asyncio.sleep calls) answer with a task, and sets the
// recommended_wait_seconds of task answers.
func (m *MCPServer) SetScriptTasks(after time.Duration, waitSeconds float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.taskAfter, m.taskWait = after, waitSeconds
}

// SetAccountRateLimit limits the requests each account's credentials may
// send, as the AWS MCP Server's quota does (requests per second per
// account and Region): rps sustained, burst at once; beyond it, HTTP 429.
// rps <= 0 removes the limit. Accounts signing requests later get it too.
func (m *MCPServer) SetAccountRateLimit(rps float64, burst int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rps, m.burst = rps, burst
	m.limits = map[string]*rate.Limiter{}
}

// limiter returns account's limiter, nil without a limit. m.mu is held.
func (m *MCPServer) limiter(account string) *rate.Limiter {
	if m.rps <= 0 {
		return nil
	}
	l, ok := m.limits[account]
	if !ok {
		l = rate.NewLimiter(rate.Limit(m.rps), m.burst)
		m.limits[account] = l
	}
	return l
}

// Requests returns how many requests account's credentials sent (signed
// correctly), and how many of them the rate limit refused with 429.
func (m *MCPServer) Requests(account string) (sent, throttled int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[account], m.throttled[account]
}

// BotoCalls returns the call_boto3 calls scripts made, in order.
func (m *MCPServer) BotoCalls() []BotoCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]BotoCall(nil), m.boto...)
}

// Executed counts the call_boto3 calls of an operation that ran (IAM
// allowed them), across accounts.
func (m *MCPServer) Executed(operation string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.boto {
		if c.Operation == operation && c.Outcome == "executed" {
			n++
		}
	}
	return n
}

// PayloadText is an S3 bucket listing of about size bytes of JSON naming
// the account's buckets.
func PayloadText(account string, size int) string {
	var b strings.Builder
	b.WriteString(`{"Buckets":[`)
	for i := 0; b.Len() < size-80; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Name":"data-%s-%05d","CreationDate":"2025-03-%02dT10:00:00+00:00"}`, account, i, i%28+1)
	}
	fmt.Fprintf(&b, `],"Owner":{"DisplayName":"owner-%s","ID":"%x"}}`, account, seed(account))
	return b.String()
}

// CallEvent is a tools/call starting or ending, in the order the fake saw
// them; Inflight is how many calls were being served just after it.
type CallEvent struct {
	Account  string
	Tool     string
	Start    bool
	Inflight int
}

// Timeline returns every tools/call start and end so far, in order.
func (m *MCPServer) Timeline() []CallEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]CallEvent(nil), m.timeline...)
}

// DenyActions makes the role in account lack the IAM actions (its own
// identity policy does not allow them): a script's call of one is
// AccessDenied whatever the session policies say.
func (m *MCPServer) DenyActions(account string, actions ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.roleDenies == nil {
		m.roleDenies = map[string]map[string]bool{}
	}
	if m.roleDenies[account] == nil {
		m.roleDenies[account] = map[string]bool{}
	}
	for _, a := range actions {
		m.roleDenies[account][a] = true
	}
}

// roleAllows reports whether account's role itself allows action.
func (m *MCPServer) roleAllows(account, action string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.roleDenies[account][action]
}
