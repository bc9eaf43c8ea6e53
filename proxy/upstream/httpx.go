package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// NewTransport returns the HTTP transport shared by every account's signing
// transport, so TLS connections to the upstream are pooled across accounts.
// It keeps at least concurrency idle connections per host (Go's default of
// two would mean a TLS handshake for almost every call of a wide fan-out),
// negotiates HTTP/2, bounds idle time, and always verifies certificates.
func NewTransport(concurrency int) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, 2*concurrency),
		MaxIdleConnsPerHost:   max(16, concurrency),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

// ErrResponseTooLarge is returned when an upstream answer exceeds the
// configured maximum size.
var ErrResponseTooLarge = errors.New("upstream response exceeds the size limit")

// StatusError is an upstream HTTP answer that is neither success nor a
// session-expiry 404.
type StatusError struct {
	Status int
	// Type is the x-amzn-ErrorType header, such as "InvalidSignatureException".
	Type string
	// Message is the start of the answer's body.
	Message string
}

// Error renders the status, type and message.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("upstream answered HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Type != "" {
		msg += " (" + e.Type + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// callState travels in a request's context from the pool to the transports:
// what may be retried, and what went wrong while reading the answer.
type callState struct {
	// idempotent says the request may be repeated even if it reached the
	// upstream (initialize, tools/list, read-only tools).
	idempotent bool
	tooLarge   atomic.Bool
	attempts   atomic.Int32

	mu      sync.Mutex
	readErr error
}

// noteReadError records why reading an answer body failed.
func (st *callState) noteReadError(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.readErr == nil {
		st.readErr = err
	}
}

// bodyError returns why reading an answer body failed, if it did.
func (st *callState) bodyError() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.readErr
}

type callStateKey struct{}

func withCallState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, callStateKey{}, st)
}

func stateOf(ctx context.Context) *callState {
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return st
	}
	return &callState{}
}

// limitTransport bounds answer bodies and turns failed HTTP statuses into
// StatusError (404 and 202 pass: the MCP transport handles those).
type limitTransport struct {
	next     http.RoundTripper
	maxBytes int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
		defer resp.Body.Close()
		return nil, statusError(resp)
	}
	limit := t.maxBytes
	if limit <= 0 {
		limit = math.MaxInt64 - 1
	}
	resp.Body = &limitedBody{rc: resp.Body, remaining: limit, state: stateOf(req.Context())}
	return resp, nil
}

// statusError reads the start of a failed answer into a StatusError.
func statusError(resp *http.Response) *StatusError {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	msg := redactAWSMessage(string(head))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg = "redirect to " + resp.Header.Get("Location") + " not followed (signed requests go only to the configured endpoint)"
	}
	return &StatusError{Status: resp.StatusCode, Type: errorType(resp.Header.Get("X-Amzn-Errortype")), Message: msg}
}

// redactAWSMessage keeps the human part of an AWS error body. A signature
// mismatch answer goes on with the canonical request the server expected,
// which holds signed header values such as the session token: that part is
// cut, and any token left is masked.
func redactAWSMessage(body string) string {
	for _, marker := range []string{"The Canonical String", "The String-to-Sign", "Canonical String", "String-to-Sign"} {
		if i := strings.Index(body, marker); i >= 0 {
			body = body[:i] + "(canonical request omitted)"
		}
	}
	if i := strings.Index(strings.ToLower(body), "x-amz-security-token"); i >= 0 {
		body = body[:i] + "(omitted)"
	}
	msg := strings.Join(strings.Fields(body), " ")
	if r := []rune(msg); len(r) > 400 {
		msg = string(r[:400]) + "…"
	}
	return msg
}

// errorType cleans an x-amzn-ErrorType value: AWS may add a namespace
// ("aws.protocols#Name") or a suffix ("Name:http://internal…").
func errorType(v string) string {
	if i := strings.Index(v, ":"); i >= 0 {
		v = v[:i]
	}
	if i := strings.LastIndex(v, "#"); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// limitedBody fails reads once more than remaining bytes have been read,
// and records read failures (a stream cut mid-answer) in the call state.
type limitedBody struct {
	rc        io.ReadCloser
	remaining int64
	state     *callState
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.rc.Read(p)
	b.remaining -= int64(n)
	if b.remaining < 0 {
		b.state.tooLarge.Store(true)
		return n, ErrResponseTooLarge
	}
	if err != nil && err != io.EOF {
		b.state.noteReadError(err)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// RetryPolicy bounds the retries of failed upstream requests.
type RetryPolicy struct {
	// MaxAttempts is the number of tries in all, the first included.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt, with full jitter.
	BaseDelay time.Duration
	// MaxDelay caps one backoff, Retry-After included.
	MaxDelay time.Duration
}

// DefaultRetryPolicy retries twice, backing off from 100 ms up to 5 s.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second}

// retryTransport repeats a request when it cannot have taken effect (the
// connection was refused, the upstream answered 429 or 503) or when it is
// idempotent (then also on 500, 502, 504 and broken connections). It honours
// Retry-After within the request's deadline.
type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
	log    *slog.Logger
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req.Context())
	for attempt := 1; ; attempt++ {
		st.attempts.Add(1)
		resp, err := t.next.RoundTrip(req)
		if attempt >= t.policy.MaxAttempts || req.GetBody == nil && req.Body != nil {
			return resp, err
		}
		wait, retry := t.shouldRetry(req.Context(), st, resp, err, attempt)
		if !retry {
			return resp, err
		}
		outcome := "error: " + fmt.Sprint(err)
		if resp != nil {
			outcome = resp.Status
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
		}
		t.log.Debug("retrying upstream request", "attempt", attempt, "outcome", outcome, "wait", wait)
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
	}
}

// shouldRetry decides whether to try again and how long to wait first.
func (t *retryTransport) shouldRetry(ctx context.Context, st *callState, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	backoff := t.policy.BaseDelay << (attempt - 1)
	backoff = time.Duration(rand.Int64N(int64(backoff) + 1))
	if err != nil {
		// Only network failures: a credential or signing error would fail
		// the same way again.
		if !notSent(err) && !(st.idempotent && networkFailure(err)) {
			return 0, false
		}
		return min(backoff, t.policy.MaxDelay), fits(ctx, backoff)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		if !st.idempotent {
			return 0, false
		}
	default:
		return 0, false
	}
	if after, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
		backoff = after
	}
	if backoff > t.policy.MaxDelay {
		return 0, false
	}
	return backoff, fits(ctx, backoff)
}

// fits reports whether waiting d still leaves time before ctx's deadline.
func fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// notSent reports whether err means the request never reached the server.
func notSent(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// networkFailure reports whether err is a broken exchange with the server
// (reset, closed, refused, a network timeout) rather than a local failure.
func networkFailure(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(at)), true
	}
	return 0, false
}

type clientKey struct{}

// WithClient returns a context saying which MCP client (name and version
// from its initialize) a call is made for; upstream requests name it in
// their User-Agent after this program.
func WithClient(ctx context.Context, name, version string) context.Context {
	agent := token(name)
	if agent == "" {
		return ctx
	}
	if v := token(version); v != "" {
		agent += "/" + v
	}
	return context.WithValue(ctx, clientKey{}, agent)
}

// token keeps the characters an HTTP product token may hold, at most 64.
func token(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
			b.WriteRune(r)
		case r == ' ' || r == '/':
			b.WriteByte('-')
		}
		if b.Len() >= 64 {
			break
		}
	}
	return b.String()
}

// userAgentTransport names this program, and the MCP client it works for,
// in every upstream request, so member-account logs can tell it apart.
type userAgentTransport struct {
	next    http.RoundTripper
	product string
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	agent := t.product
	if client, ok := req.Context().Value(clientKey{}).(string); ok {
		agent += " " + client
	}
	out := req.Clone(req.Context())
	out.Header.Set("User-Agent", agent)
	return t.next.RoundTrip(out)
}
