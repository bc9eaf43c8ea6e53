package cli

import (
	"context"
	"fmt"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
)

// toolsCmd lists the upstream AWS MCP Server's tools as seen through one account.
func toolsCmd(ctx context.Context, args []string, env cliEnv) error {
	f := newCommandFlags("tools", env)
	account := f.fs.String("account", "", "account to look through (default: the first configured)")
	asJSON := f.fs.Bool("json", false, "print JSON instead of a table")
	a, err := f.wire(ctx, args, env, app.Wiring{})
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Service.UpstreamTools(ctx, *account)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, list)
	}
	tw := newTable(env.stdout)
	fmt.Fprintln(tw, "TOOL\tREAD-ONLY\tDESCRIPTION")
	for _, t := range list.Tools {
		ro := "no"
		if t.ReadOnly {
			ro = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, ro, oneLine(t.Description, 90))
	}
	fmt.Fprintf(tw, "\n%d tools, seen through account %s\n", len(list.Tools), list.AccountID)
	return tw.Flush()
}
