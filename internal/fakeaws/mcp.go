package fakeaws

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MCPServer is a fake of the managed AWS MCP Server: MCP over Streamable
// HTTP (initialize, sessions, tools/list, tools/call, DELETE), answering in
// JSON or SSE. Every request must carry a valid SigV4 signature (service
// aws-mcp, the configured region) by credentials the fake STS issued; bad
// ones get 403. It records which account signed each tool call and the
// region the call asked for in _meta.AWS_REGION. Faults are injected per
// account. It is safe for concurrent use.
type MCPServer struct {
	verifier Verifier
	data     *dataset

	mu             sync.Mutex
	sessions       map[string]*fakeSession
	sessionSeq     int
	sessionsOpened int
	connections    int
	calls          []ToolCall
	rejections     []string
	signatures     []string
	latency        map[string]time.Duration
	defaultLatency time.Duration
	// held, while not nil, keeps tools/call answers until it is closed.
	held         chan struct{}
	heldAccounts map[string]chan struct{}
	statuses     map[string]*statusFault
	overrides    map[string]Override
	dropped      map[string]bool
	badSignature map[string]bool
	sse          bool
	noRecord     bool
	aborted      int
	inflight     int
	maxInflight  int
	payload      int
	payloads     map[string]json.RawMessage
	toolList     ToolList
	toolDefs     []map[string]any
	listed       map[string]bool
	boto         []BotoCall
	timeline     []CallEvent
	roleDenies   map[string]map[string]bool
	tasks        scriptTasks
	taskAfter    time.Duration
	taskWait     float64
	limits       map[string]*rate.Limiter
	rps          float64
	burst        int
	requests     map[string]int
	throttled    map[string]int
}

// ToolCall records one tools/call the fake answered or was asked for.
type ToolCall struct {
	// Account is the account whose credentials signed the request.
	Account     string
	AccessKeyID string
	Principal   string
	SessionID   string
	Tool        string
	Arguments   map[string]any
	// Region is the call's _meta.AWS_REGION.
	Region string
	// UserAgent is the request's User-Agent header.
	UserAgent string
}

// Override writes its own answer to a tools/call of one account, for fault
// tests (invalid JSON, a cut stream, a huge body). It returns false to let
// the fake answer normally.
type Override func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool

// fakeSession is one MCP session: who opened it and whether the client
// sent notifications/initialized.
type fakeSession struct {
	account     string
	initialized bool
}

type statusFault struct {
	code       int
	retryAfter string
	remaining  int
}

func newMCPServer(keys *Keyring, region string, names map[string]string, list ToolList) *MCPServer {
	m := &MCPServer{
		toolList:  list,
		toolDefs:  toolDefinitions(list),
		taskAfter: DefaultTaskAfter,
		taskWait:  DefaultTaskWait,
		limits:    map[string]*rate.Limiter{},
		requests:  map[string]int{},
		throttled: map[string]int{},
		verifier:  Verifier{Keys: keys, Service: "aws-mcp", Region: region},
		data:      &dataset{names: names},
		sessions:  map[string]*fakeSession{},
		latency:   map[string]time.Duration{},
		statuses:  map[string]*statusFault{},
		overrides: map[string]Override{},
		dropped:   map[string]bool{},

		badSignature: map[string]bool{},
	}
	m.listed = toolNames(m.toolDefs)
	m.verifier.Mismatch = func(c Credential) bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.badSignature[c.Account]
	}
	return m
}

// RejectSignatures makes every request signed by account fail as a
// signature mismatch, answered as AWS does (with the canonical request).
func (m *MCPServer) RejectSignatures(account string, reject bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.badSignature[account] = reject
}

// rpcRequest is a JSON-RPC request or notification.
type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// ServeHTTP serves the MCP endpoint.
func (m *MCPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	cred, apiErr := m.verifier.Verify(r, body)
	m.mu.Lock()
	if _, sig, ok := strings.Cut(r.Header.Get("Authorization"), "Signature="); ok && !m.noRecord {
		m.signatures = append(m.signatures, sig)
	}
	if apiErr != nil && !m.noRecord {
		m.rejections = append(m.rejections, apiErr.Error())
	}
	m.mu.Unlock()
	if apiErr != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", apiErr.Code)
		w.WriteHeader(apiErr.Status)
		json.NewEncoder(w).Encode(map[string]string{"message": apiErr.Message})
		return
	}
	m.mu.Lock()
	drop := m.dropped[cred.Account]
	limit := m.limiter(cred.Account)
	m.requests[cred.Account]++
	limited := limit != nil && !limit.Allow()
	if limited {
		m.throttled[cred.Account]++
	}
	m.mu.Unlock()
	if limited {
		// The AWS MCP Server's quota answer: HTTP 429 beyond the requests
		// per second of an account in a Region.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "ThrottlingException")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"message":"Rate exceeded"}`)
		return
	}
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodDelete:
		m.mu.Lock()
		delete(m.sessions, r.Header.Get("Mcp-Session-Id"))
		m.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	default:
		w.Header().Set("Allow", "POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// What the Streamable HTTP transport requires of a client's POST.
	accept := r.Header.Get("Accept")
	if !strings.Contains(accept, "application/json") || !strings.Contains(accept, "text/event-stream") {
		http.Error(w, "Not Acceptable: Accept must list application/json and text/event-stream", http.StatusNotAcceptable)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "Unsupported Media Type: Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil || req.JSONRPC != "2.0" || req.Method == "" {
		m.writeRPCError(w, http.StatusBadRequest, nil, -32700, "Parse error: want one JSON-RPC 2.0 message")
		return
	}
	if req.Method == "initialize" {
		m.initialize(w, cred, req)
		return
	}
	sessionID := r.Header.Get("Mcp-Session-Id")
	if sessionID == "" {
		m.writeRPCError(w, http.StatusBadRequest, req.ID, -32600, "Bad Request: Mcp-Session-Id header is required")
		return
	}
	if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && !slices.Contains(supportedProtocolVersions, v) {
		m.writeRPCError(w, http.StatusBadRequest, req.ID, -32600, "Bad Request: unsupported MCP-Protocol-Version "+v)
		return
	}
	m.mu.Lock()
	sess, ok := m.sessions[sessionID]
	initialized := ok && sess.initialized
	if ok && req.Method == "notifications/initialized" {
		sess.initialized = true
	}
	m.mu.Unlock()
	if !ok {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	if sess.account != cred.Account {
		m.writeRPCError(w, http.StatusForbidden, req.ID, -32600, "session belongs to another account")
		return
	}
	if len(req.ID) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if !initialized && req.Method != "ping" {
		m.writeRPCError(w, http.StatusBadRequest, req.ID, -32600, "Bad Request: the session has not sent notifications/initialized")
		return
	}
	switch req.Method {
	case "ping":
		m.writeResult(w, req.ID, map[string]any{})
	case "tools/list":
		m.writeResult(w, req.ID, map[string]any{"tools": m.toolDefs})
	case "tools/call":
		m.toolsCall(w, r, cred, sessionID, req)
	default:
		m.writeRPCError(w, http.StatusOK, req.ID, -32601, "Method not found: "+req.Method)
	}
}

var supportedProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

func (m *MCPServer) initialize(w http.ResponseWriter, cred Credential, req rpcRequest) {
	var params struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(req.Params, &params); err != nil {
		m.writeRPCError(w, http.StatusOK, req.ID, -32602, "invalid initialize params")
		return
	}
	version := "2025-06-18"
	for _, v := range supportedProtocolVersions {
		if v == params.ProtocolVersion {
			version = v
		}
	}
	m.mu.Lock()
	m.sessionSeq++
	m.sessionsOpened++
	id := fmt.Sprintf("fake-session-%s-%06d", cred.Account, m.sessionSeq)
	m.sessions[id] = &fakeSession{account: cred.Account}
	m.mu.Unlock()
	w.Header().Set("Mcp-Session-Id", id)
	m.writeResult(w, req.ID, map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{"tools": map[string]any{"listChanged": false}},
		"serverInfo":      map[string]any{"name": "fake-aws-mcp", "version": "1.0.0"},
	})
}

func (m *MCPServer) toolsCall(w http.ResponseWriter, r *http.Request, cred Credential, sessionID string, req rpcRequest) {
	var params struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
		Meta      map[string]any `json:"_meta"`
	}
	if err := json.Unmarshal(req.Params, &params); err != nil {
		m.writeRPCError(w, http.StatusOK, req.ID, -32602, "invalid tools/call params: "+err.Error())
		return
	}
	region, _ := params.Meta["AWS_REGION"].(string)
	call := ToolCall{
		Account: cred.Account, AccessKeyID: cred.AccessKeyID, Principal: cred.Principal,
		SessionID: sessionID, Tool: params.Name, Arguments: params.Arguments, Region: region,
		UserAgent: r.Header.Get("User-Agent"),
	}

	m.mu.Lock()
	if !m.noRecord {
		m.calls = append(m.calls, call)
	}
	m.inflight++
	m.maxInflight = max(m.maxInflight, m.inflight)
	if !m.noRecord {
		m.timeline = append(m.timeline, CallEvent{Account: cred.Account, Tool: params.Name, Start: true, Inflight: m.inflight})
	}
	delay, ok := m.latency[cred.Account]
	if !ok {
		delay = m.defaultLatency
	}
	var fault *statusFault
	if f := m.statuses[cred.Account]; f != nil && f.remaining != 0 {
		f.remaining--
		fault = &statusFault{code: f.code, retryAfter: f.retryAfter}
	}
	override := m.overrides[cred.Account]
	held := m.held
	if ch, ok := m.heldAccounts[cred.Account]; ok && held == nil {
		held = ch
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inflight--
		if !m.noRecord {
			m.timeline = append(m.timeline, CallEvent{Account: cred.Account, Tool: params.Name, Inflight: m.inflight})
		}
		m.mu.Unlock()
	}()

	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			m.mu.Lock()
			m.aborted++
			m.mu.Unlock()
			return
		}
	}
	if held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			m.mu.Lock()
			m.aborted++
			m.mu.Unlock()
			return
		}
	}
	if fault != nil {
		if fault.retryAfter != "" {
			w.Header().Set("Retry-After", fault.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fault.code)
		fmt.Fprintf(w, `{"message":"injected HTTP %d"}`, fault.code)
		return
	}
	if override != nil && override(w, r, req.ID) {
		return
	}
	if params.Name == ToolCallAWS && m.toolList == ToolsToday {
		m.writeRPCError(w, http.StatusOK, req.ID, -32600, removedCallAWS)
		return
	}
	if !m.listed[params.Name] {
		m.writeRPCError(w, http.StatusOK, req.ID, -32602, "Unknown tool: "+params.Name)
		return
	}
	if padded, ok := m.payloadResult(cred.Account, params.Name); ok && (params.Name == ToolCallAWS || params.Name == ToolRunScript) {
		m.writeResult(w, req.ID, padded)
		return
	}
	if result, ok := m.scriptTool(r.Context(), cred, call); ok {
		m.writeResult(w, req.ID, result)
		return
	}
	result, known := m.data.call(call)
	if !known {
		m.writeRPCError(w, http.StatusOK, req.ID, -32602, "Unknown tool: "+params.Name)
		return
	}
	m.writeResult(w, req.ID, result)
}

func (m *MCPServer) writeResult(w http.ResponseWriter, id json.RawMessage, result any) {
	m.writeMessage(w, http.StatusOK, map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
}

func (m *MCPServer) writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	m.writeMessage(w, status, map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": code, "message": msg}})
}

func (m *MCPServer) writeMessage(w http.ResponseWriter, status int, msg any) {
	data, err := json.Marshal(msg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m.mu.Lock()
	sse := m.sse
	m.mu.Unlock()
	if sse && status == http.StatusOK {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(status)
		fmt.Fprintf(w, "event: message\ndata: %s\n\n", data)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}
