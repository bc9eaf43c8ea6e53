package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// errSomeFailed makes the exit code 1 after the output was printed.
var errSomeFailed = errors.New("some accounts failed")

// callCmd runs query (--account) or query_all (--all) from the shell.
func callCmd(ctx context.Context, args []string, env cliEnv) error {
	f := newCommandFlags("call", env)
	account := f.fs.String("account", "", "run in this one account (query)")
	all := f.fs.Bool("all", false, "run in every selected account (query_all)")
	region := f.fs.String("target-region", "", "target region of the call (default: each account's or --region)")
	var regions, selectAccounts, tags []string
	f.fs.Var(app.ListValue(&regions), "regions", "several target regions, comma-separated (with --all)")
	f.fs.Var(app.ListValue(&selectAccounts), "select", "with --all: account ids or name globs, comma-separated")
	f.fs.Var(app.ListValue(&tags), "tag", "with --all: key=value an account must carry (repeatable)")
	ou := f.fs.String("ou", "", "with --all: OU id or OU path prefix")
	rawArgs := f.fs.String("args", "", "the tool's arguments as a JSON object (key=value pairs are merged over it)")
	asJSON := f.fs.Bool("json", false, "print JSON instead of a table")
	jmespath := f.fs.String("jmespath", "", "JMESPath expression applied to each account's JSON answer (AWS CLI --query semantics)")
	changes := defineChangeFlags(f.fs)
	var budget int64
	f.fs.Var(app.ByteSizeValue(&budget), "budget", "fit the answer to this many bytes of text, as an MCP client receives it (e.g. 32KiB); default: print everything")
	if err := f.parse(args); err != nil {
		return err
	}
	rest := f.fs.Args()
	if len(rest) == 0 {
		return fmt.Errorf("%w: call needs a TOOL (see the tools command)", app.ErrConfig)
	}
	if (*account == "") == !*all {
		return fmt.Errorf("%w: give exactly one of --account ID or --all", app.ErrConfig)
	}
	if *changes.change && !*all {
		return fmt.Errorf("%w: --change runs over the selected accounts: give --all (and selectors)", app.ErrConfig)
	}
	tool, toolArgs, err := buildToolArgs(rest[0], rest[1:], *rawArgs)
	if err != nil {
		return fmt.Errorf("%w: %w", app.ErrConfig, err)
	}
	if _, err := results.Compile(*jmespath); err != nil {
		return fmt.Errorf("%w: %w", app.ErrConfig, err)
	}
	sel := accounts.Selector{Accounts: selectAccounts, OU: *ou}
	if sel.Tags, err = parseTags(tags); err != nil {
		return fmt.Errorf("%w: %w", app.ErrConfig, err)
	}
	a, err := app.Build(ctx, f.cfg, app.NewLogger(env.stderr, f.cfg), app.Wiring{KeepNone: "the call command keeps no results"})
	if err != nil {
		return err
	}
	defer a.Close()
	if *changes.change {
		return runChange(ctx, a, env, changes, proxy.ChangeRequest{ToolName: tool, Arguments: toolArgs, Region: *region, Regions: regions, Selector: sel}, *asJSON)
	}
	p := newPainter(env.stdout, env.getenv)

	if *account != "" {
		res, err := a.Service.Query(ctx, proxy.QueryRequest{AccountID: *account, ToolName: tool, Arguments: toolArgs, Region: *region, JMESPath: *jmespath})
		if err != nil {
			return inCLIWords(err)
		}
		if budget > 0 {
			if err := printToolResult(env.stdout, proxy.QueryToolResult(res, int(budget)), *asJSON); err != nil {
				return err
			}
		} else if *asJSON {
			if err := writeJSON(env.stdout, res.Entry.Value()); err != nil {
				return err
			}
		} else {
			printSingle(env.stdout, p, res.Entry)
		}
		if res.Status != proxy.StatusSuccess {
			return fmt.Errorf("%w: account %s: %s", errSomeFailed, res.AccountID, res.Error)
		}
		return nil
	}

	var progress proxy.Progress
	finish := func() {}
	if list, err := a.Service.ListAccounts(ctx, sel); err == nil {
		total := list.Count * max(1, len(regions))
		progress, finish = progressReporter(env.stderr, total, "query_all "+tool)
	}
	out, err := a.Service.QueryAll(ctx, proxy.QueryAllRequest{ToolName: tool, Arguments: toolArgs, Region: *region, Regions: regions, Selector: sel, JMESPath: *jmespath}, progress)
	finish()
	if err != nil {
		return inCLIWords(err)
	}
	if budget > 0 {
		if err := printToolResult(env.stdout, a.Service.AnswerResult(ctx, out, int(budget)), *asJSON); err != nil {
			return err
		}
	} else if *asJSON {
		if err := writeJSON(env.stdout, wholeReply(out)); err != nil {
			return err
		}
	} else if err := printResults(env.stdout, p, out); err != nil {
		return err
	}
	if out.Summary.Failed > 0 {
		return fmt.Errorf("%w: %d of %d failed", errSomeFailed, out.Summary.Failed, out.Summary.Total)
	}
	return nil
}

// printToolResult prints what an MCP client would receive: the text
// content, or with asJSON the structured content (the whole result when
// there is none).
func printToolResult(w io.Writer, res *mcp.CallToolResult, asJSON bool) error {
	if len(res.RawStructuredContent) > 0 && asJSON {
		return writeJSON(w, res.RawStructuredContent)
	}
	if asJSON {
		if res.StructuredContent != nil {
			return writeJSON(w, res.StructuredContent)
		}
		return writeJSON(w, res)
	}
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			if _, err := fmt.Fprintln(w, tc.Text); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildToolArgs merges --args JSON and key=value pairs into one object.
// A value that is valid JSON (number, true, an object) is taken as JSON,
// anything else as a string.
func buildToolArgs(tool string, pairs []string, raw string) (string, json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			return "", nil, fmt.Errorf("--args must be a JSON object: %v", err)
		}
	}
	for _, pair := range pairs {
		if strings.HasPrefix(pair, "-") {
			return "", nil, fmt.Errorf("flag %s after TOOL: put flags before the tool name", pair)
		}
		key, value, ok := strings.Cut(pair, "=")
		if !ok || key == "" {
			return "", nil, fmt.Errorf("argument %q: want key=value", pair)
		}
		if json.Valid([]byte(value)) {
			obj[key] = json.RawMessage(value)
		} else {
			encoded, _ := json.Marshal(value)
			obj[key] = encoded
		}
	}
	encoded, err := json.Marshal(obj)
	return tool, encoded, err
}

func parseTags(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	tags := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tag %q: want key=value", p)
		}
		tags[k] = v
	}
	return tags, nil
}

// wholeReply is a fan-out's reply with every answer in it, for --json.
func wholeReply(a *results.Answer) *results.Reply {
	return results.Render(a, results.RenderOptions{Budget: math.MaxInt32, ResultID: a.Summary.ResultID}).Reply
}

// printSingle prints one account's answer (a text as it is, JSON
// indented), or the error.
func printSingle(w io.Writer, p painter, res results.Entry) {
	if res.Status == proxy.StatusSuccess {
		text := res.Answer()
		if json.Valid([]byte(strings.TrimSpace(text))) {
			var b bytes.Buffer
			_ = json.Indent(&b, res.Value(), "", "  ")
			text = b.String()
		}
		fmt.Fprintln(w, text)
		return
	}
	fmt.Fprintf(w, "%s %s %s (%s): %s\n", p.mark(false), res.AccountID, res.Name, res.Region, res.Error)
}

// printResults prints a fan-out as a table with a summary line.
func printResults(w io.Writer, p painter, out *results.Answer) error {
	tw := newTable(w)
	fmt.Fprintln(tw, " \tACCOUNT\tNAME\tREGION\tTIME\tRESULT")
	for _, r := range out.Results {
		detail := r.Error
		if r.Status == proxy.StatusSuccess {
			detail = summarize(r.Value())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.mark(r.Status == proxy.StatusSuccess), r.AccountID, r.Name, r.Region,
			time.Duration(r.DurationMS)*time.Millisecond, oneLine(detail, 90))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := out.Summary
	line := fmt.Sprintf("\n%d of %d succeeded, %d failed in %s (concurrency %d)\n", s.Succeeded, s.Total, s.Failed,
		time.Duration(s.DurationMS)*time.Millisecond, s.Concurrency)
	if s.Failed > 0 {
		line = p.bad(line)
	} else {
		line = p.ok(line)
	}
	_, err := fmt.Fprint(w, line)
	return err
}

// summarize shortens an answer for a table cell: a list, or the first
// list in an object ("Buckets": [...]), as its count and names; a text as
// it is; anything else as compact JSON.
func summarize(value json.RawMessage) string {
	var v any
	if json.Unmarshal(value, &v) != nil {
		return string(value)
	}
	switch v := v.(type) {
	case string:
		return v
	case []any:
		return countNames(v, "item")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if list, ok := v[k].([]any); ok {
				return countNames(list, strings.ToLower(strings.TrimSuffix(k, "s")))
			}
		}
	}
	return string(value)
}

// countNames is "3 buckets: a, b, c": a list's length and the names of its
// items (strings, or objects' Name, InstanceId, RegionName, Id or Arn).
func countNames(list []any, noun string) string {
	var names []string
	for _, item := range list {
		switch item := item.(type) {
		case string:
			names = append(names, item)
		case map[string]any:
			for _, field := range []string{"Name", "InstanceId", "RegionName", "Id", "Arn"} {
				if s, ok := item[field].(string); ok {
					names = append(names, s)
					break
				}
			}
		}
	}
	out := results.Plural(len(list), noun)
	if len(names) > 0 {
		out += ": " + strings.Join(names, ", ")
	}
	return out
}

// inCLIWords names the CLI's commands and flags where the core's errors
// name MCP tools and arguments (list_accounts, the accounts selector).
func inCLIWords(err error) error {
	if !errors.Is(err, accounts.ErrUnknownAccount) && !errors.Is(err, accounts.ErrEmptySelection) {
		return err
	}
	msg := strings.NewReplacer("(see list_accounts)", "(the accounts command lists them)",
		"accounts=", "--select ", "tags=", "--tag ", "ou=", "--ou ").Replace(err.Error())
	return &reworded{msg: msg, err: err}
}

// reworded is an error told in other words; it still is what it wraps.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }
