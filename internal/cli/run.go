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

// command is one subcommand: its name, the line usage shows for it, its
// synopsis and examples (its own -h), and what it runs.
type command struct {
	name     string
	summary  string
	synopsis string
	examples []string
	run      func(ctx context.Context, args []string, env cliEnv) error
}

// commands are every subcommand, in the order usage lists them; the first
// is the default. (Set in init: help lists them.)
var commands []command

func init() {
	commands = []command{
		{"serve", "run the MCP stdio server (the default); --http ADDR serves a team over Streamable HTTP", "serve [flags]",
			[]string{"serve --sso-session corp", "serve --http 127.0.0.1:8080 --insecure-no-auth --accounts accounts.json"}, serveCmd},
		{"demo", "try everything against built-in fakes of AWS (no AWS account needed)", "demo [--serve [--http ADDR]] [--sso] [--script CODE] [--json]",
			[]string{"demo", "demo --sso", "demo --serve", "demo --serve --http 127.0.0.1:8080"}, demoCmd},
		{"accounts", "list the accounts the configuration resolves to", "accounts [--json] [flags]",
			[]string{"accounts --sso-session corp", "accounts --org"}, accountsCmd},
		{"call", "run an AWS MCP Server tool in one account or in all of them", "call (--account ID | --all) [flags] TOOL [key=value...]",
			[]string{`call --all aws___run_script code="await call_boto3(service_name='s3', operation_name='ListBuckets')"`,
				`call --account 222222222222 --jmespath 'Regions[].RegionName' aws___list_regions`,
				`call --all --change --allow-changes --rollout-concurrency 5 aws___run_script code="..."`}, callCmd},
		{"tools", "list the AWS MCP Server's tools as seen through one account", "tools [--account ID] [--json] [flags]", nil, toolsCmd},
		{"doctor", "check credentials, the endpoint, and every account's role and upstream session", "doctor [--verbose] [--json] [flags]",
			[]string{"doctor --sso-session corp"}, doctorCmd},
		{"gateway-schema", "print the AgentCore Gateway tool schema", "gateway-schema [--format api|cloudformation]", nil, gatewaySchemaCmd},
		{"version", "print the version and commit", "version [--json]", nil, versionCmd},
		{"help", "print this help", "help", nil, helpCmd},
	}
}

// Run runs the command args name and returns the exit code: 0 success, 1
// failure, 2 invalid configuration or usage.
func Run(ctx context.Context, args []string, env Env) int {
	name := commands[0].name
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(env.Stdout, usage())
		return 0
	}
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

// usage lists the commands, then examples, then where the flags are.
func usage() string {
	var b strings.Builder
	p := buildinfo.Program
	fmt.Fprintf(&b, "%s: one MCP server for many AWS accounts.\n\nUsage: %s [command] [flags]\n\nCommands:\n", p, p)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-16s%s\n", c.name, c.summary)
	}
	fmt.Fprintf(&b, "\nExamples:\n")
	for _, ex := range []string{"demo", "serve --sso-session corp", "doctor --sso-session corp",
		`call --all aws___run_script code="await call_boto3(service_name='s3', operation_name='ListBuckets')"`} {
		fmt.Fprintf(&b, "  %s %s\n", p, ex)
	}
	fmt.Fprintf(&b, "\nFlags: \"%s COMMAND -h\" shows a command's own flags; \"%s serve -h\" lists every configuration flag,\ngrouped (accounts, credentials, safety, upstream, answers, team server). README.md has the details.\n", p, p)
	return b.String()
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// commandUsage is a command's -h: its synopsis, its own flags, examples,
// and one line on the configuration flags it shares with serve.
func commandUsage(c command, fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		p := buildinfo.Program
		fmt.Fprintf(w, "%s\n\nUsage: %s %s\n", capitalize(c.summary), p, c.synopsis)
		var own strings.Builder
		app.PrintOwnFlags(&own, fs)
		if own.Len() > 0 {
			fmt.Fprintf(w, "\nFlags:\n%s", own.String())
		}
		if len(c.examples) > 0 {
			fmt.Fprintf(w, "\nExamples:\n")
			for _, ex := range c.examples {
				fmt.Fprintf(w, "  %s %s\n", p, ex)
			}
		}
		switch {
		case c.name == "demo":
			fmt.Fprintf(w, "\nOf the configuration flags (\"%s serve -h\"), it honours --%s.\n", p, strings.Join(demoConfigFlags, ", --"))
		case hasConfigFlags(fs):
			fmt.Fprintf(w, "\nIt also takes the configuration flags (accounts, credentials, safety, upstream, answers);\n\"%s serve -h\" lists them.\n", p)
		}
	}
}

func hasConfigFlags(fs *flag.FlagSet) bool {
	found := false
	fs.VisitAll(func(f *flag.Flag) { found = found || app.IsConfigFlag(f.Name) })
	return found
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// usageOf sets fs's -h to the named command's.
func usageOf(name string, fs *flag.FlagSet) {
	for _, c := range commands {
		if c.name == name && name != "serve" {
			fs.Usage = commandUsage(c, fs)
		}
	}
}

func helpCmd(_ context.Context, _ []string, env cliEnv) error {
	fmt.Fprint(env.stdout, usage())
	return nil
}

func versionCmd(_ context.Context, args []string, env cliEnv) error {
	fs := flag.NewFlagSet(buildinfo.Program+" version", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	asJSON := fs.Bool("json", false, "print JSON (program, version, commit, modified, go) for tools")
	usageOf("version", fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: version takes no arguments", app.ErrConfig)
	}
	info := buildinfo.Read()
	if *asJSON {
		return writeJSON(env.stdout, info)
	}
	rev := info.Commit
	if info.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(env.stdout, "%s %s commit %s\n", info.Program, info.Version, rev)
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
