package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/fatih/color"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// cliEnv is what a command runs with.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// commandFlags is a subcommand's FlagSet on top of the configuration flags.
type commandFlags struct {
	fs     *flag.FlagSet
	cfg    app.Config
	envErr func() error
}

// newCommandFlags defines the configuration flags for a subcommand. Its
// logs default to warn level, so the command's own output stays clean.
func newCommandFlags(name string, env cliEnv) *commandFlags {
	c := &commandFlags{}
	c.fs, c.envErr = app.NewFlagSet(buildinfo.Program+" "+name, &c.cfg, env.getenv, env.stderr)
	usageOf(name, c.fs)
	if env.getenv("AWS_MCP_LOG_LEVEL") == "" {
		c.cfg.LogLevel = slog.LevelWarn
	}
	return c
}

// parse reads the flags and validates the configuration.
func (c *commandFlags) parse(args []string) error {
	if err := app.ParseFlags(c.fs, args, c.envErr); err != nil {
		return err
	}
	if err := c.cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", app.ErrConfig, err)
	}
	return nil
}

// wire parses flags and wires the core.
func (c *commandFlags) wire(ctx context.Context, args []string, env cliEnv, w app.Wiring) (*app.App, error) {
	if err := c.parse(args); err != nil {
		return nil, err
	}
	if w.Fresh {
		c.cfg.DeniedTTL = 0
	}
	return app.Build(ctx, c.cfg, app.NewLogger(env.stderr, c.cfg), w)
}

// isTerminal reports whether a stream (stdin, stdout, stderr) is a
// terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// painter colours marks only when writing to a terminal (and NO_COLOR is unset).
type painter struct{ on bool }

func newPainter(w io.Writer, getenv func(string) string) painter {
	return painter{on: isTerminal(w) && getenv("NO_COLOR") == ""}
}

func (p painter) paint(attr color.Attribute, s string) string {
	if !p.on {
		return s
	}
	c := color.New(attr)
	c.EnableColor()
	return c.Sprint(s)
}

func (p painter) ok(s string) string   { return p.paint(color.FgGreen, s) }
func (p painter) bad(s string) string  { return p.paint(color.FgRed, s) }
func (p painter) dim(s string) string  { return p.paint(color.Faint, s) }
func (p painter) bold(s string) string { return p.paint(color.Bold, s) }

// mark is ✓ or ✗.
func (p painter) mark(ok bool) string {
	if ok {
		return p.ok("✓")
	}
	return p.bad("✗")
}

// newTable returns a tab-aligned writer.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// writeJSON prints v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// progressReporter shows fan-out progress on stderr: a live bar on a
// terminal, plain lines (every quarter) otherwise.
func progressReporter(w io.Writer, total int, label string) (proxy.Progress, func()) {
	if isTerminal(w) {
		bar := progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(0),
		)
		return func(int, int) { _ = bar.Add(1) }, func() { _ = bar.Finish() }
	}
	step := max(1, (total+3)/4)
	return func(done, total int) {
		if done == total || done%step == 0 {
			fmt.Fprintf(w, "%s: %d/%d answered\n", label, done, total)
		}
	}, func() {}
}

// oneLine squeezes text into one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
