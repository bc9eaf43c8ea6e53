package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/rollout"
)

// changeFlags are call's flags of a change (call --change).
type changeFlags struct {
	change         *bool
	yes            *bool
	canary         *int
	maxConcurrency *string
	maxErrors      *string
	regionOrder    *string
	previewScript  *string
}

func defineChangeFlags(fs *flag.FlagSet) changeFlags {
	return changeFlags{
		change:         fs.Bool("change", false, "change the selected accounts (with --all and --allow-changes): print the plan, ask for a typed confirmation, then roll it out"),
		yes:            fs.Bool("yes", false, "with --change: run the plan without asking (for scripts)"),
		canary:         fs.Int("canary", rollout.DefaultCanary, "with --change: targets that run first, alone"),
		maxConcurrency: fs.String("rollout-concurrency", rollout.DefaultMaxConcurrency.String(), "with --change: targets changed at once (the rollout's max_concurrency), a count or a percentage"),
		maxErrors:      fs.String("max-errors", rollout.DefaultMaxErrors.String(), "with --change: failures after which no new target starts, a count or a percentage"),
		regionOrder:    fs.String("region-order", rollout.Sequential, "with --change: sequential, parallel, or the regions in order (comma-separated)"),
		previewScript:  fs.String("preview-script", "", "with --change: a read-only aws___run_script script run first in every target; its answers are in the plan"),
	}
}

// options reads the rollout flags.
func (f changeFlags) options() (rollout.Options, error) {
	o := rollout.Defaults()
	o.Canary = *f.canary
	var err error
	if o.MaxConcurrency, err = rollout.ParseLimit(*f.maxConcurrency); err != nil {
		return o, fmt.Errorf("--rollout-concurrency: %w", err)
	}
	if o.MaxErrors, err = rollout.ParseLimit(*f.maxErrors); err != nil {
		return o, fmt.Errorf("--max-errors: %w", err)
	}
	switch order := strings.ToLower(*f.regionOrder); order {
	case rollout.Sequential, rollout.Parallel:
		o.RegionOrder = order
	default:
		o.Regions = strings.Split(*f.regionOrder, ",")
	}
	return o, o.Validate()
}

// runChange plans the change, asks for the human's yes, and rolls it out
// with a progress bar; the canary's answer is shown as soon as it ends.
// Any target that failed or was skipped makes the exit code 1.
func runChange(ctx context.Context, a *app.App, env cliEnv, f changeFlags, req proxy.ChangeRequest, asJSON bool) error {
	if !a.Config.AllowChanges {
		return fmt.Errorf("%w: call --change needs --allow-changes (AWS_MCP_ALLOW_CHANGES=true)", app.ErrConfig)
	}
	var err error
	if req.Rollout, err = f.options(); err != nil {
		return fmt.Errorf("%w: %w", app.ErrConfig, err)
	}
	if *f.previewScript != "" {
		code, _ := json.Marshal(map[string]string{"code": *f.previewScript})
		req.Preview = &proxy.Preview{ToolName: proxy.RunScriptTool, Arguments: code}
	}
	c, err := a.Service.PlanChange(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprint(env.stderr, c.Question())
	for _, w := range c.Warnings {
		fmt.Fprintln(env.stderr, "Warning: "+w)
	}
	if c.Preview != nil {
		fmt.Fprintln(env.stderr, "\nPreview (read-only):")
		if err := printToolResult(env.stderr, a.Service.AnswerResult(ctx, c.Preview, int(results.DefaultBudget)), false); err != nil {
			return err
		}
	}
	if !*f.yes {
		if !isTerminal(env.stdin) {
			return fmt.Errorf("%w: not a terminal: nothing ran; confirm the plan with --yes to run it from a script", app.ErrConfig)
		}
		if !confirm(env.stdin, env.stderr, c.Accounts) {
			return errors.New("not confirmed: nothing ran")
		}
	}
	p := newPainter(env.stdout, env.getenv)
	progress, finish := progressReporter(env.stderr, c.TargetCount, "change "+req.ToolName)
	watch := func(e results.Entry, canary bool) {
		if canary {
			fmt.Fprintf(env.stderr, "\n%s canary %s %s (%s): %s\n", p.mark(e.Status == proxy.StatusSuccess), e.AccountID, e.Name, e.Region,
				oneLine(canaryAnswer(e), 300))
		}
	}
	_, out, err := a.Service.ApplyChangeWatched(ctx, c.ID, progress, watch)
	finish()
	if err != nil {
		return err
	}
	if asJSON {
		err = writeJSON(env.stdout, wholeReply(out))
	} else {
		err = printResults(env.stdout, p, out)
	}
	if err != nil {
		return err
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(env.stderr, "Warning: "+w)
	}
	if s := out.Summary; s.Failed+s.Skipped > 0 {
		return fmt.Errorf("%w: %d of %d failed, %d skipped", errSomeFailed, s.Failed, s.Total, s.Skipped)
	}
	return nil
}

// canaryAnswer is what the canary's line shows: the answer, or the error.
func canaryAnswer(e results.Entry) string {
	if e.Status == proxy.StatusSuccess {
		return summarize(e.Value())
	}
	return e.Error
}

// confirm asks for the number of accounts, typed, and reports whether it
// was.
func confirm(in io.Reader, out io.Writer, accounts int) bool {
	fmt.Fprintf(out, "\nType the number of accounts (%d) to run this change, anything else to stop: ", accounts)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	return err == nil && n == accounts
}
