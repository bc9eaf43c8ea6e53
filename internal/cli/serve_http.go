package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
	"github.com/centralops/aws-mcp-multi-account/teamserver"
)

// serveHTTP runs the team server (serve --http) until SIGTERM or SIGINT,
// then drains it. w wires the core (the demo points it at its fakes);
// ready, when set, is told the address once the server listens.
func serveHTTP(ctx context.Context, cfg app.Config, log *slog.Logger, w app.Wiring, ready func(addr string)) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	issuer := cfg.OIDCIssuer
	if cfg.TrustRuntimeUserID {
		issuer = teamserver.RuntimeIssuer
	}
	identity := teamserver.Identity{
		Issuer:              issuer,
		SessionName:         strings.ReplaceAll(cfg.SessionName, "{user}", app.LocalUser()),
		SourceIdentityClaim: cfg.SourceIdentity,
	}
	if cfg.AccessPolicy != "" {
		policy, err := teamserver.LoadPolicy(cfg.AccessPolicy)
		if err != nil {
			return fmt.Errorf("%w: %w", app.ErrConfig, err)
		}
		identity.Policy = policy
		// The access policy, not the flag, says who may change what.
		if cfg.AllowChanges && !policy.AllowsChanges() {
			log.Warn("--allow-changes is ignored: with an access policy, allow_changes rules say who may change which accounts, and none does")
		}
		cfg.AllowChanges = policy.AllowsChanges()
	} else if cfg.AllowChanges && !cfg.ReadOnly {
		log.Warn("--allow-changes without an --access-policy: every caller may change every configured account")
	}
	a, err := app.Build(ctx, cfg, log, w)
	if err != nil {
		return err
	}
	defer a.Close()
	app.BoundMemory(a)

	var verifier *teamserver.Verifier
	if cfg.OIDCIssuer != "" {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		client := &http.Client{Transport: upstream.NewTransport(4), Timeout: 10 * time.Second}
		verifier, err = teamserver.NewVerifier(dctx, cfg.OIDCIssuer, teamserver.Audience{
			Resource: cfg.OIDCAudience, ClientIDs: cfg.OIDCClientIDs, Scopes: cfg.OIDCScopes,
		}, client, log)
		cancel()
		if err != nil {
			return err
		}
		if identity.Policy == nil {
			log.Warn("no --access-policy: every signed-in caller reaches every configured account")
		}
	} else if cfg.TrustRuntimeUserID {
		log.Info("callers are the user ids AgentCore Runtime forwards (" + teamserver.RuntimeUserIDHeader + "): keep SigV4 inbound auth on the Runtime")
	} else if cfg.InsecureNoAuth {
		log.Warn("serving without sign-in (--insecure-no-auth): anyone who reaches this address uses the central credentials", "addr", cfg.HTTPAddr)
	}

	srv := teamserver.New(teamserver.Config{
		Drain: cfg.Drain, BodyTimeout: cfg.BodyTimeout, Stateless: cfg.Stateless, Resource: cfg.OIDCAudience, Issuer: cfg.OIDCIssuer, Scopes: cfg.OIDCScopes,
		TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, Log: log, TaskOwner: a.Service.TaskOwner, TrustRuntimeUserID: cfg.TrustRuntimeUserID,
	}, proxy.NewServer(a.Service, buildinfo.Version()), verifier, identity)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("serving MCP over Streamable HTTP", "addr", ln.Addr().String(), "path", teamserver.EndpointPath,
		"oidc_issuer", cfg.OIDCIssuer, "stateless", cfg.Stateless, "tls", cfg.TLSCert != "", "endpoint", cfg.Endpoint)
	if ready != nil {
		ready(ln.Addr().String())
	}
	return srv.Serve(ctx, ln)
}
