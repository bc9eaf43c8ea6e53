package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// serveCmd runs the stdio MCP server until stdin closes or a signal
// arrives; with --http, the team server (serve_http.go).
func serveCmd(ctx context.Context, args []string, env cliEnv) error {
	cfg, rest, err := app.ParseConfig(buildinfo.Program+" serve", args, env.getenv, env.stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", app.ErrConfig, rest)
	}
	log := app.NewLogger(env.stderr, cfg)
	if cfg.HTTPAddr != "" {
		return serveHTTP(ctx, cfg, log, app.Wiring{}, nil)
	}
	a, err := app.Build(ctx, cfg, log, app.Wiring{})
	if err != nil {
		return err
	}
	defer a.Close()
	return serveStdio(ctx, a, env.stdin, env.stdout)
}

// serveStdio serves the app's tools over stdio; stdout carries only JSON-RPC.
func serveStdio(ctx context.Context, a *app.App, stdin io.Reader, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	app.BoundMemory(a)
	srv := proxy.NewServer(a.Service, buildinfo.Version())
	stdio := server.NewStdioServer(srv)
	server.WithWorkerPoolSize(64)(stdio)
	stdio.SetErrorLogger(app.SlogToLog(a.Log))
	a.Log.Info("serving MCP over stdio", "endpoint", a.Config.Endpoint, "signing_region", a.Config.UpstreamSigningRegion(),
		"concurrency", a.Config.Concurrency, "read_only", a.Config.ReadOnly)
	order := newProgressOrder()
	err := stdio.Listen(ctx, order.reader(stdin), order.writer(stdout))
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stdio server: %w", err)
	}
	return nil
}
