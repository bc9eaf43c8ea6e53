//go:build !lambda

// Command aws-mcp-multi-account is an MCP stdio server that lets an AI agent
// query many AWS accounts at once through the AWS MCP Server, plus a
// troubleshooting CLI on the same binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run dispatches a subcommand and returns the exit code: 0 success, 1
// failure, 2 invalid configuration or usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	env := cliEnv{stdout: stdout, stderr: stderr, getenv: getenv}
	switch cmd {
	case "serve":
		err = serve(ctx, args, stdin, stdout, stderr, getenv)
	case "demo":
		err = demoCmd(ctx, args, stdin, env)
	case "accounts":
		err = accountsCmd(ctx, args, env)
	case "call":
		err = callCmd(ctx, args, env)
	case "doctor":
		err = doctorCmd(ctx, args, env)
	case "tools":
		err = toolsCmd(ctx, args, env)
	case "gateway-schema":
		err = gatewaySchema(args, stdout, stderr, getenv)
	case "version":
		rev, modified := commit()
		if modified {
			rev += " (modified)"
		}
		fmt.Fprintf(stdout, "%s %s commit %s\n", programName, version(), rev)
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "%s: unknown command %q\n%s", programName, cmd, usage)
		return 2
	}
	return exitCode(err, stderr)
}

const usage = `Usage: aws-mcp-multi-account [command] [flags]

Commands:
  serve           run the MCP stdio server (the default when no command is given);
                  --http ADDR serves a team over Streamable HTTP instead
  demo            run a query_all against built-in fakes of AWS (no AWS account needed); --serve for MCP
  accounts        list the resolved accounts (--json)
  call            run a tool in one account (--account ID) or all (--all): call --all TOOL key=value...
  tools           list the AWS MCP Server's tools as seen through one account (--json)
  doctor          check credentials, endpoint, and each account's role and upstream session (--json)
  gateway-schema  print the AgentCore Gateway tool schema (--format api|cloudformation)
  version         print the version and commit
  help            print this help

Every command takes the configuration flags; run "aws-mcp-multi-account serve -h" to list them.
`

// exitCode prints err as one line and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", programName, err)
	if errors.Is(err, errConfig) {
		return 2
	}
	return 1
}

// serve runs the stdio MCP server until stdin closes or a signal arrives.
func serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, rest, err := parseConfig(programName+" serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errConfig, rest)
	}
	log := newLogger(stderr, cfg)
	if cfg.HTTPAddr != "" {
		return serveHTTP(ctx, cfg, log)
	}
	a, err := build(ctx, cfg, log, wiring{})
	if err != nil {
		return err
	}
	defer a.close()
	return serveStdio(ctx, a, stdin, stdout)
}

// serveStdio serves the app's tools over stdio; stdout carries only JSON-RPC.
func serveStdio(ctx context.Context, a *app, stdin io.Reader, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv := proxy.NewServer(a.svc, version())
	stdio := server.NewStdioServer(srv)
	server.WithWorkerPoolSize(64)(stdio)
	stdio.SetErrorLogger(slogToLog(a.log))
	a.log.Info("serving MCP over stdio", "endpoint", a.cfg.Endpoint, "signing_region", a.cfg.signingRegion(),
		"concurrency", a.cfg.Concurrency, "read_only", a.cfg.ReadOnly)
	err := stdio.Listen(ctx, stdin, stdout)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stdio server: %w", err)
	}
	return nil
}
