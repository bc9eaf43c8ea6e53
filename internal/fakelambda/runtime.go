// Package fakelambda is a local fake of the AWS Lambda Runtime API
// (2018-06-01): it hands invocations to a function process polling
// /runtime/invocation/next, with deadline and client-context headers as
// Lambda sends them, and collects each /response or /error. Tests run the
// real bootstrap binary (and so the real aws-lambda-go loop) against it.
package fakelambda

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ClientContext is the client context of an invocation, as Lambda encodes it
// in the Lambda-Runtime-Client-Context header.
type ClientContext struct {
	Client map[string]string `json:"client,omitempty"`
	Env    map[string]string `json:"env,omitempty"`
	Custom map[string]string `json:"custom,omitempty"`
}

// Outcome is what the function answered to one invocation.
type Outcome struct {
	// Response is the payload of /response; empty on an error.
	Response json.RawMessage
	// Error is the body of /error ({"errorMessage", "errorType"}); empty on success.
	Error json.RawMessage
}

type invocation struct {
	id       string
	event    []byte
	cc       *ClientContext
	deadline time.Time
	done     chan Outcome
}

// Runtime is a running fake Runtime API.
type Runtime struct {
	srv     *httptest.Server
	pending chan *invocation

	mu        sync.Mutex
	inflight  map[string]*invocation
	seq       int
	firstPoll time.Time
	initErr   json.RawMessage
	polled    chan struct{}
	polledSet bool
}

// Start runs the fake on 127.0.0.1.
func Start() *Runtime {
	r := &Runtime{pending: make(chan *invocation), inflight: map[string]*invocation{}, polled: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Close stops the fake; pollers waiting for work get an error.
func (r *Runtime) Close() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// FirstPoll waits until the function first asks for an invocation and
// returns when that was.
func (r *Runtime) FirstPoll(ctx context.Context) (time.Time, error) {
	select {
	case <-r.polled:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstPoll, nil
}

// InitError returns the body of /runtime/init/error, if the function reported one.
func (r *Runtime) InitError() json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initErr
}

// Invoke hands the event to the function with the given client context and
// timeout, and waits for its answer (or ctx).
func (r *Runtime) Invoke(ctx context.Context, event []byte, cc *ClientContext, timeout time.Duration) (Outcome, error) {
	r.mu.Lock()
	r.seq++
	inv := &invocation{
		id:       fmt.Sprintf("req-%06d", r.seq),
		event:    event,
		cc:       cc,
		deadline: time.Now().Add(timeout),
		done:     make(chan Outcome, 1),
	}
	r.mu.Unlock()
	select {
	case r.pending <- inv:
	case <-ctx.Done():
		return Outcome{}, fmt.Errorf("no function polled for the invocation: %w", ctx.Err())
	}
	select {
	case out := <-inv.done:
		return out, nil
	case <-ctx.Done():
		return Outcome{}, fmt.Errorf("the function did not answer: %w", ctx.Err())
	}
}

func (r *Runtime) serve(w http.ResponseWriter, req *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	path, ok := strings.CutPrefix(req.URL.Path, prefix)
	if !ok {
		http.NotFound(w, req)
		return
	}
	switch {
	case req.Method == http.MethodGet && path == "invocation/next":
		r.next(w, req)
	case req.Method == http.MethodPost && path == "init/error":
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.initErr = body
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case req.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		r.answer(w, req, strings.TrimPrefix(path, "invocation/"))
	default:
		http.NotFound(w, req)
	}
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if !r.polledSet {
		r.firstPoll, r.polledSet = time.Now(), true
		close(r.polled)
	}
	r.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-r.pending:
	case <-req.Context().Done():
		return
	}
	r.mu.Lock()
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111111111111:function:aws-mcp-bridge")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
	if inv.cc != nil {
		cc, _ := json.Marshal(inv.cc)
		h.Set("Lambda-Runtime-Client-Context", string(cc))
	}
	h.Set("Content-Type", "application/json")
	w.Write(inv.event)
}

func (r *Runtime) answer(w http.ResponseWriter, req *http.Request, rest string) {
	id, kind, ok := strings.Cut(rest, "/")
	if !ok || (kind != "response" && kind != "error") {
		http.NotFound(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	inv := r.inflight[id]
	delete(r.inflight, id)
	r.mu.Unlock()
	if inv == nil {
		http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
		return
	}
	if kind == "response" {
		inv.done <- Outcome{Response: body}
	} else {
		inv.done <- Outcome{Error: body}
	}
	w.WriteHeader(http.StatusAccepted)
}
