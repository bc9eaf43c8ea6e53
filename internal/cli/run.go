// Package cli is the program's command line: the MCP servers (stdio and,
// with --http, the team server), the troubleshooting commands and the
// demo. The root main.go only calls Run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
)

// Env is what the program runs with: its standard streams and environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// command is one subcommand: its name, the lines usage shows for it, and
// what it runs.
type command struct {
	name    string
	summary []string
	run     func(ctx context.Context, args []string, env cliEnv) error
}

// commands are every subcommand, in the order usage lists them; the first
// is the default. (Set in init: help lists them.)
var commands []command

func init() {
	commands = []command{
		{"serve", []string{"run the MCP stdio server (the default when no command is given);", "--http ADDR serves a team over Streamable HTTP instead"}, serveCmd},
		{"demo", []string{"run a query_all against built-in fakes of AWS (no AWS account needed); --serve for MCP"}, demoCmd},
		{"accounts", []string{"list the resolved accounts (--json)"}, accountsCmd},
		{"call", []string{"run a tool in one account (--account ID) or all (--all): call --all TOOL key=value..."}, callCmd},
		{"tools", []string{"list the AWS MCP Server's tools as seen through one account (--json)"}, toolsCmd},
		{"doctor", []string{"check credentials, endpoint, and each account's role and upstream session (--json)"}, doctorCmd},
		{"gateway-schema", []string{"print the AgentCore Gateway tool schema (--format api|cloudformation)"}, gatewaySchemaCmd},
		{"version", []string{"print the version and commit"}, versionCmd},
		{"help", []string{"print this help"}, helpCmd},
	}
}

// Run runs the command args name and returns the exit code: 0 success, 1
// failure, 2 invalid configuration or usage.
func Run(ctx context.Context, args []string, env Env) int {
	name := commands[0].name
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	e := cliEnv{stdin: env.Stdin, stdout: env.Stdout, stderr: env.Stderr, getenv: env.Getenv}
	for _, c := range commands {
		if c.name == name {
			return exitCode(c.run(ctx, args, e), env.Stderr)
		}
	}
	fmt.Fprintf(env.Stderr, "%s: unknown command %q\n%s", buildinfo.Program, name, usage())
	return 2
}

// usage lists the commands.
func usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [command] [flags]\n\nCommands:\n", buildinfo.Program)
	for _, c := range commands {
		for i, line := range c.summary {
			if i == 0 {
				fmt.Fprintf(&b, "  %-16s%s\n", c.name, line)
			} else {
				fmt.Fprintf(&b, "  %-16s%s\n", "", line)
			}
		}
	}
	fmt.Fprintf(&b, "\nEvery command takes the configuration flags; run \"%s serve -h\" to list them.\n", buildinfo.Program)
	return b.String()
}

func helpCmd(_ context.Context, _ []string, env cliEnv) error {
	fmt.Fprint(env.stdout, usage())
	return nil
}

func versionCmd(_ context.Context, _ []string, env cliEnv) error {
	rev, modified := buildinfo.Commit()
	if modified {
		rev += " (modified)"
	}
	fmt.Fprintf(env.stdout, "%s %s commit %s\n", buildinfo.Program, buildinfo.Version(), rev)
	return nil
}

// exitCode prints err as one line and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", buildinfo.Program, err)
	if errors.Is(err, app.ErrConfig) {
		return 2
	}
	return 1
}
