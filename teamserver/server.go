package teamserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// Defaults of Config.
const (
	DefaultDrain       = 20 * time.Second
	DefaultMaxBody     = 1 << 20
	DefaultBodyTimeout = 30 * time.Second
	// RuntimeUserIDHeader is where AgentCore Runtime names the caller of
	// a request it authenticated (SigV4 inbound).
	RuntimeUserIDHeader = "X-Amzn-Bedrock-AgentCore-Runtime-User-Id"
	// RuntimeIssuer is the issuer part of a caller the Runtime named.
	RuntimeIssuer = "agentcore-runtime"
	// EndpointPath serves MCP; HealthPath answers load balancers.
	EndpointPath = "/mcp"
	HealthPath   = "/healthz"
)

// Config configures a Server.
type Config struct {
	// Drain is how long in-flight calls may take to finish at shutdown
	// before they are cancelled.
	Drain time.Duration
	// Stateless serves without server-side sessions (each POST stands
	// alone), so any number of processes behind a load balancer serve any
	// caller.
	Stateless bool
	// Resource is this server's resource URI (the token audience), named
	// in the Protected Resource Metadata; Issuer its authorization server.
	Resource, Issuer string
	// Scopes are the scopes a token needs, named in the metadata.
	Scopes []string
	// MaxBody bounds a request body; larger ones get 413.
	MaxBody int64
	// BodyTimeout bounds the time a request body may take to arrive; a
	// slower one gets 408 and the connection is closed.
	BodyTimeout time.Duration
	// TrustRuntimeUserID takes the caller of each request from
	// RuntimeUserIDHeader, when there is no verifier: for AgentCore Runtime
	// with SigV4 inbound auth, where nothing but the Runtime reaches the
	// server. A request without the header gets 401.
	TrustRuntimeUserID bool
	// TaskOwner names the caller (proxy.Caller.ID) that started an MCP
	// task, so that its status notifications reach that caller's streams
	// only; nil sends them to no stream of a signed-in caller.
	TaskOwner func(taskID string) (callerID string, ok bool)
	// TLSCert and TLSKey, when set, serve HTTPS.
	TLSCert, TLSKey string
	Log             *slog.Logger
}

// Server serves an MCP server over Streamable HTTP for many callers.
type Server struct {
	cfg      Config
	verifier *Verifier
	identity Identity
	mcp      *server.StreamableHTTPServer
	handler  http.Handler
	sessions *callerSessions
	owners   *owners
	requests *inflight

	draining atomic.Bool
	// inflight counts the POSTs being served (the calls a drain waits for).
	inflight atomic.Int64
	base     context.Context
	cancel   context.CancelFunc
}

// New serves mcpServer. verifier nil serves without authentication (one
// loopback user, or --insecure-no-auth): there is then no caller, and the
// process's own configuration applies, as over stdio.
func New(cfg Config, mcpServer *server.MCPServer, verifier *Verifier, identity Identity) *Server {
	if cfg.Drain <= 0 {
		cfg.Drain = DefaultDrain
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, verifier: verifier, identity: identity, sessions: newCallerSessions(), owners: newOwners(), requests: newInflight()}
	s.base, s.cancel = context.WithCancel(context.Background())
	opts := []server.StreamableHTTPOption{
		server.WithEndpointPath(EndpointPath),
		server.WithStreamableHTTPLogger(cfg.Log),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			c := proxy.CallerFrom(r.Context())
			if c == nil {
				return ctx
			}
			return s.owners.bind(proxy.WithCaller(ctx, c), mcpServer, c)
		}),
		server.WithSessionIdleTTL(time.Hour),
	}
	if cfg.Stateless {
		opts = append(opts, server.WithStateLess(true))
	} else {
		opts = append(opts, server.WithSessionIdManagerResolver(s.sessions))
	}
	s.mcp = server.NewStreamableHTTPServer(mcpServer, opts...)

	mux := http.NewServeMux()
	mux.HandleFunc(HealthPath, s.health)
	if verifier != nil {
		meta := server.NewProtectedResourceMetadataHandler(server.ProtectedResourceMetadataConfig{
			Resource: cfg.Resource, AuthorizationServers: []string{cfg.Issuer}, ScopesSupported: cfg.Scopes,
			BearerMethodsSupported: []string{"header"}, ResourceName: "aws-mcp-multi-account",
		})
		mux.Handle(server.WellKnownProtectedResourcePath, meta)
		if p := server.ProtectedResourceMetadataPath(cfg.Resource); p != server.WellKnownProtectedResourcePath {
			mux.Handle(p, meta)
		}
	}
	// The token is checked before the body is read: a stranger's slow body
	// holds nothing, and is not a call the drain waits for.
	mux.Handle(EndpointPath, s.authenticate(s.gate(s.limitBody(s.isolate(s.cancellable(s.mcp))))))
	s.handler = mux
	return s
}

// Handler serves every path of the server.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx ends, then drains: no new sessions, the
// health check fails, calls in flight get cfg.Drain to finish, then they
// are cancelled and the server closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		s.cancel()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.drain()
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.mcp.Shutdown(shutdown)
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// drain refuses new sessions and waits for calls in flight, at most
// cfg.Drain, then cancels them.
func (s *Server) drain() {
	s.draining.Store(true)
	start := time.Now()
	s.cfg.Log.Info("draining: no new sessions; calls in flight may finish", "drain", s.cfg.Drain, "in_flight", s.inflight.Load())
	if s.settle(s.cfg.Drain) {
		s.cfg.Log.Info("drained: every call finished", "took", time.Since(start).Round(time.Millisecond))
	} else {
		s.cfg.Log.Warn("drain deadline: cancelling the calls still in flight", "drain", s.cfg.Drain, "in_flight", s.inflight.Load())
	}
	s.cancel()
	if !s.settle(5 * time.Second) {
		s.cfg.Log.Warn("calls still running 5 s after they were cancelled; closing anyway")
	}
}

// settle waits until no call is in flight, at most d; it reports whether
// none is.
func (s *Server) settle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "draining\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// gate refuses new sessions while draining and counts the POSTs in flight
// (the long-lived GET streams are not calls to wait for).
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		newSession := r.Method == http.MethodGet || r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" && !s.cfg.Stateless
		if s.draining.Load() && (newSession || s.cfg.Stateless) {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusServiceUnavailable, "unavailable", "the server is shutting down; connect again")
			return
		}
		if r.Method == http.MethodPost {
			s.inflight.Add(1)
			defer s.inflight.Add(-1)
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses request bodies over cfg.MaxBody with 413, and bodies
// slower than cfg.BodyTimeout with 408.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		tooLarge := func() {
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request bodies are limited to %d bytes", s.cfg.MaxBody))
		}
		if r.ContentLength > s.cfg.MaxBody {
			tooLarge()
			return
		}
		rc := http.NewResponseController(w)
		deadline := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) == nil
		body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBody+1))
		if deadline {
			rc.SetReadDeadline(time.Time{})
		}
		var timeout net.Error
		switch {
		case errors.As(err, &timeout) && timeout.Timeout():
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusRequestTimeout, "timeout", fmt.Sprintf("the request body did not arrive within %s", s.cfg.BodyTimeout))
			return
		case err != nil:
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusBadRequest, "bad_request", "cannot read the request body")
			return
		case int64(len(body)) > s.cfg.MaxBody:
			tooLarge()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// isolate keeps each caller to its own sessions and notifications (see
// isolation.go): GET and DELETE must name a session of the caller (in
// --stateless there are none: 405), a --stateless POST's session id is
// ignored, and the status of another caller's task never reaches a
// caller's stream.
func (s *Server) isolate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller := proxy.CallerFrom(r.Context())
		id := r.Header.Get(server.HeaderKeySessionID)
		switch {
		case s.cfg.Stateless && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
			// MCP Streamable HTTP: a server without a stream to offer
			// answers GET with 405, and may refuse DELETE with 405.
			w.Header().Set("Allow", "POST")
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "this server is stateless (--stateless): it has no sessions to listen to or end; POST each request")
			return
		case s.cfg.Stateless:
			r.Header.Del(server.HeaderKeySessionID)
		case (r.Method == http.MethodGet || r.Method == http.MethodDelete) && id != "" && !s.sessions.owns(callerID(caller), id):
			http.Error(w, "Invalid session ID", http.StatusNotFound)
			return
		}
		if caller != nil {
			w = &streamFilter{ResponseWriter: w, keep: func(event []byte) bool {
				task, ok := taskStatusOf(event)
				if !ok {
					return true
				}
				if s.cfg.TaskOwner == nil {
					return false
				}
				owner, known := s.cfg.TaskOwner(task)
				return known && owner == caller.ID
			}}
		}
		next.ServeHTTP(w, r)
	})
}

func callerID(c *proxy.Caller) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// authenticate requires a valid bearer token and puts the caller it names
// in the request's context. A request without one gets 401 and the
// WWW-Authenticate header that points MCP clients at the Protected
// Resource Metadata, from which they find the authorization server.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.verifier == nil && s.cfg.TrustRuntimeUserID {
		return s.runtimeCaller(next)
	}
	if s.verifier == nil {
		return next
	}
	metadata := metadataURL(s.cfg.Resource)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		challenge := fmt.Sprintf(`Bearer resource_metadata=%q`, metadata)
		refuse := func(wwwAuthenticate, code, msg string) {
			if r.ContentLength != 0 {
				// The body is never read: do not wait for it to keep the
				// connection.
				w.Header().Set("Connection", "close")
			}
			w.Header().Set("WWW-Authenticate", wwwAuthenticate)
			writeJSONError(w, http.StatusUnauthorized, code, msg)
		}
		scheme, raw, found := strings.Cut(r.Header.Get("Authorization"), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
			refuse(challenge, "unauthorized", "a bearer token from "+s.cfg.Issuer+" is required")
			return
		}
		claims, err := s.verifier.Verify(r.Context(), strings.TrimSpace(raw))
		var caller *proxy.Caller
		if err == nil {
			caller, err = s.identity.Caller(claims)
		}
		if err != nil {
			s.cfg.Log.Info("refused a token", "error", err, "remote", r.RemoteAddr)
			refuse(challenge+`, error="invalid_token", error_description="the access token is not valid for this server"`,
				"invalid_token", "the access token is not valid for this server")
			return
		}
		next.ServeHTTP(w, r.WithContext(proxy.WithCaller(r.Context(), caller)))
	})
}

// runtimeCaller takes the caller from the user id AgentCore Runtime
// forwards (its sub, under RuntimeIssuer, for the access policy).
func (s *Server) runtimeCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSpace(r.Header.Get(RuntimeUserIDHeader))
		if id == "" {
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusUnauthorized, "unauthorized", "the request names no caller ("+RuntimeUserIDHeader+"): this server serves AgentCore Runtime's authenticated requests only")
			return
		}
		caller, err := s.identity.Caller(Claims{"sub": id})
		if err != nil {
			writeJSONError(w, http.StatusUnauthorized, "unauthorized", "the Runtime's user id is not usable here")
			return
		}
		next.ServeHTTP(w, r.WithContext(proxy.WithCaller(r.Context(), caller)))
	})
}

// metadataURL is where the Protected Resource Metadata of a resource is
// (RFC 9728 section 3.1).
func metadataURL(resource string) string {
	u, err := url.Parse(resource)
	if err != nil {
		return resource
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: server.ProtectedResourceMetadataPath(resource)}).String()
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": msg})
}
