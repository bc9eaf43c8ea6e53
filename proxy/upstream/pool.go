// Package upstream is the MCP client side of the proxy: one Streamable HTTP
// session per account with the AWS MCP Server, each signed with that
// account's credentials, over one shared HTTP transport.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/auth"
)

// DefaultEndpoint is the managed AWS MCP Server.
const DefaultEndpoint = "https://aws-mcp.us-east-1.api.aws/mcp"

// EndpointRegions are the Regions the AWS MCP Server has an endpoint in
// (since 2026-10-02; https://docs.aws.amazon.com/general/latest/gr/aws-mcp.html).
// The target Region of a call is independent of the endpoint's.
var EndpointRegions = []string{"us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-2",
	"ap-southeast-1", "ap-southeast-2", "ap-northeast-1"}

// RegionalEndpoint returns the endpoint of the AWS MCP Server in region, or
// an error naming the Regions it has.
func RegionalEndpoint(region string) (string, error) {
	for _, r := range EndpointRegions {
		if r == region {
			return "https://aws-mcp." + region + ".api.aws/mcp", nil
		}
	}
	return "", fmt.Errorf("the AWS MCP Server has no endpoint in %q: it has %s (--endpoint takes any URL)", region, strings.Join(EndpointRegions, ", "))
}

// DefaultMaxResponseBytes bounds one upstream answer.
const DefaultMaxResponseBytes = 10 << 20

// Options configures a Pool.
type Options struct {
	// Endpoint is the AWS MCP Server URL.
	Endpoint string
	// SigningRegion is the SigV4 region of the endpoint.
	SigningRegion string
	// MaxResponseBytes bounds one answer; larger ones are an error.
	MaxResponseBytes int64
	// Transport is the shared base transport; NewTransport(16) when nil.
	Transport http.RoundTripper
	// Retry bounds retries of failed requests; DefaultRetryPolicy when zero.
	Retry RetryPolicy
	// Logger receives the MCP transport's own diagnostics.
	Logger *slog.Logger
	// ClientInfo names this program in initialize, and as
	// "<name>/<version>" in the User-Agent of every upstream request.
	ClientInfo mcp.Implementation
	// MaxInFlight bounds the upstream calls of the whole process, across
	// concurrent fan-outs; 0 means no bound.
	MaxInFlight int
	// AccountRPS paces each account's requests (every request: initialize,
	// tools/call, task polls, retries) to this many a second, and
	// AccountConcurrency bounds its requests in flight, so one account's
	// regions and tasks stay within the upstream's quota. 0 leaves either
	// unbounded.
	AccountRPS         float64
	AccountConcurrency int
	// InFlight, when set, is told of each call through the pool (a
	// tools/call or tools/list, with the initialize it may need) as it
	// starts (+1) and as it ends (-1).
	InFlight func(delta int)
}

// Pool keeps one MCP session per account with the upstream, created on first
// use, initialized once, and re-initialized once when the upstream forgets
// it (HTTP 404). It is safe for concurrent use.
type Pool struct {
	opts   Options
	signer *v4.Signer

	slots *fairSlots
	pace  *pacing
	// firstInit is closed when the process's first initialize has ended, so
	// a cold fan-out opens one HTTP/2 connection and shares it instead of
	// racing dozens of TLS handshakes to the same host.
	firstInit    chan struct{}
	firstClaimed atomic.Bool

	mu       sync.Mutex
	sessions map[string]*session
	opened   atomic.Int64
	closed   bool
	callSeq  atomic.Int64
}

// ValidateEndpoint accepts https URLs, and http only on a loopback host (for
// local fakes): signed requests must never travel in clear text.
func ValidateEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	if u.Host == "" {
		return fmt.Errorf("endpoint %q: want an absolute URL such as %s", endpoint, DefaultEndpoint)
	}
	if u.User != nil {
		return fmt.Errorf("endpoint %q: must not carry user info", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("endpoint %q: http is allowed only for loopback hosts; use https", endpoint)
	}
	return fmt.Errorf("endpoint %q: scheme must be https", endpoint)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewPool returns a pool for the endpoint in opts.
func NewPool(opts Options) (*Pool, error) {
	if err := ValidateEndpoint(opts.Endpoint); err != nil {
		return nil, err
	}
	if opts.SigningRegion == "" {
		return nil, errors.New("upstream: signing region is required")
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport(16)
	}
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = DefaultRetryPolicy
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ClientInfo.Name == "" {
		opts.ClientInfo = mcp.Implementation{Name: "aws-mcp-multi-account", Version: "dev"}
	}
	p := &Pool{opts: opts, signer: v4.NewSigner(), sessions: make(map[string]*session), firstInit: make(chan struct{})}
	if opts.MaxInFlight > 0 {
		p.slots = newFairSlots(opts.MaxInFlight)
	}
	p.pace = newPacing(opts.AccountRPS, opts.AccountConcurrency)
	return p, nil
}

// SessionsOpened returns how many upstream sessions have been initialized.
func (p *Pool) SessionsOpened() int64 { return p.opened.Load() }

// Target identifies an account's session: its id and the credentials that
// sign its requests. Key, when set, names the session instead of the
// account id: targets with different credentials for one account (callers
// of a shared server with their own sessions) never share a session.
type Target struct {
	AccountID   string
	Key         string
	Credentials aws.CredentialsProvider
}

func (t Target) sessionKey() string {
	if t.Key != "" {
		return t.Key
	}
	return t.AccountID
}

// session is one account's MCP client.
type session struct {
	client *client.Client
	http   transport.Interface
	// gate is held while initializing; ready/gen change only under it.
	gate  chan struct{}
	ready bool
	gen   int
}

func (p *Pool) session(t Target) (*session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("upstream pool is closed")
	}
	if s, ok := p.sessions[t.sessionKey()]; ok {
		return s, nil
	}
	signing := &auth.SigningTransport{
		Base:        p.opts.Transport,
		Credentials: t.Credentials,
		Signer:      p.signer,
		Service:     auth.ServiceName,
		Region:      p.opts.SigningRegion,
	}
	httpClient := &http.Client{
		Transport: &limitTransport{
			next: &userAgentTransport{
				next: &retryTransport{next: &paceTransport{next: signing, pacer: p.pace.of(t.AccountID)},
					policy: p.opts.Retry, log: p.opts.Logger.With("account", t.AccountID)},
				product: p.opts.ClientInfo.Name + "/" + p.opts.ClientInfo.Version,
			},
			maxBytes: p.opts.MaxResponseBytes,
		},
		// A redirect would carry a signed request elsewhere: never follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tr, err := transport.NewStreamableHTTP(p.opts.Endpoint,
		transport.WithHTTPBasicClient(httpClient),
		transport.WithLogger(p.opts.Logger))
	if err != nil {
		return nil, fmt.Errorf("upstream transport: %w", err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	s := &session{client: c, http: tr, gate: make(chan struct{}, 1)}
	p.sessions[t.sessionKey()] = s
	return s, nil
}

// ensure initializes the session unless it is ready, and returns its
// generation. Concurrent callers wait for one initialize.
func (p *Pool) ensure(ctx context.Context, s *session, accountID string) (int, error) {
	select {
	case s.gate <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-s.gate }()
	if s.ready {
		return s.gen, nil
	}
	if p.firstClaimed.CompareAndSwap(false, true) {
		defer close(p.firstInit)
	} else {
		select {
		case <-p.firstInit:
		case <-ctx.Done():
			return 0, &Error{Stage: "initialize", Err: clarify(ctx.Err(), &callState{}, p.opts.MaxResponseBytes)}
		}
	}
	if err := s.client.Start(ctx); err != nil {
		return 0, fmt.Errorf("start MCP client: %w", err)
	}
	st := &callState{idempotent: true}
	start := time.Now()
	init, err := s.client.Initialize(withCallState(ctx, st), mcp.InitializeRequest{
		Params: mcp.InitializeParams{
			ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
			ClientInfo:      p.opts.ClientInfo,
		},
	})
	if err != nil {
		return 0, &Error{Stage: "initialize", Err: clarify(err, st, p.opts.MaxResponseBytes)}
	}
	p.opened.Add(1)
	p.opts.Logger.Debug("upstream session initialized", "account", accountID, "protocol", init.ProtocolVersion,
		"server", init.ServerInfo.Name, "duration", time.Since(start))
	s.ready = true
	s.gen++
	return s.gen, nil
}

// expire marks the session for re-initialization, unless a newer one
// has already replaced generation gen.
func (p *Pool) expire(ctx context.Context, s *session, gen int) {
	select {
	case s.gate <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.gate }()
	if s.gen == gen {
		s.ready = false
	}
}

// CallTool sends tools/call for name with args (a JSON object) to the
// account's session, with region as _meta.AWS_REGION. readOnly permits
// retrying the call after failures that may have reached the upstream. It
// returns the raw result object.
func (p *Pool) CallTool(ctx context.Context, t Target, name string, args json.RawMessage, region string, readOnly bool) (json.RawMessage, error) {
	params := map[string]any{"name": name, "arguments": args}
	if region != "" {
		params["_meta"] = map[string]any{"AWS_REGION": region}
	}
	var result json.RawMessage
	err := p.withSession(ctx, t, "call", func(ctx context.Context, s *session) error {
		st := &callState{idempotent: readOnly}
		resp, err := s.http.SendRequest(withCallState(ctx, st), transport.JSONRPCRequest{
			JSONRPC: mcp.JSONRPC_VERSION,
			ID:      mcp.NewRequestId(fmt.Sprintf("call-%d", p.callSeq.Add(1))),
			Method:  string(mcp.MethodToolsCall),
			Params:  params,
		})
		if err != nil {
			return clarify(err, st, p.opts.MaxResponseBytes)
		}
		if resp.Error != nil {
			return &RPCError{Code: resp.Error.Code, Message: resp.Error.Message}
		}
		if len(resp.Result) == 0 || resp.Result[0] != '{' {
			return fmt.Errorf("upstream answered tools/call without a result object")
		}
		result = resp.Result
		return nil
	})
	return result, err
}

// ListTools returns the upstream's tools as seen through the account.
func (p *Pool) ListTools(ctx context.Context, t Target) ([]mcp.Tool, error) {
	var tools []mcp.Tool
	err := p.withSession(ctx, t, "tools/list", func(ctx context.Context, s *session) error {
		st := &callState{idempotent: true}
		res, err := s.client.ListTools(withCallState(ctx, st), mcp.ListToolsRequest{})
		if err != nil {
			return clarify(err, st, p.opts.MaxResponseBytes)
		}
		tools = res.Tools
		return nil
	})
	return tools, err
}

// withSession runs fn on the account's initialized session, re-initializing
// once if the upstream answers that the session has expired.
func (p *Pool) withSession(ctx context.Context, t Target, stage string, fn func(context.Context, *session) error) error {
	s, err := p.session(t)
	if err != nil {
		return err
	}
	if p.slots != nil {
		if err := p.slots.acquire(ctx, tenantOf(ctx)); err != nil {
			return &Error{Stage: stage, Err: clarify(err, &callState{}, p.opts.MaxResponseBytes)}
		}
		defer p.slots.release()
	}
	if p.opts.InFlight != nil {
		p.opts.InFlight(1)
		defer p.opts.InFlight(-1)
	}
	for attempt := 0; ; attempt++ {
		gen, err := p.ensure(ctx, s, t.AccountID)
		if err != nil {
			return err
		}
		err = fn(ctx, s)
		if err == nil {
			return nil
		}
		if attempt == 0 && errors.Is(err, transport.ErrSessionTerminated) {
			p.opts.Logger.Debug("upstream session expired; initializing a new one", "account", t.AccountID)
			p.expire(ctx, s, gen)
			continue
		}
		return &Error{Stage: stage, Err: err}
	}
}

// Close ends every session (DELETE), waiting at most until ctx ends.
func (p *Pool) Close(ctx context.Context) {
	p.mu.Lock()
	p.closed = true
	sessions := p.sessions
	p.sessions = map[string]*session{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() { s.client.Close() })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if t, ok := p.opts.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}
