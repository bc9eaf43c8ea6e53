package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/internal/app"
)

// accountsCmd lists the resolved accounts as a table or JSON.
func accountsCmd(ctx context.Context, args []string, env cliEnv) error {
	f := newCommandFlags("accounts", env)
	asJSON := f.fs.Bool("json", false, "print JSON instead of a table")
	a, err := f.wire(ctx, args, env, app.Wiring{})
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Service.ListAccounts(ctx, accounts.Selector{})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, list)
	}
	tw := newTable(env.stdout)
	fmt.Fprintln(tw, "ID\tNAME\tSOURCE\tOU\tTAGS")
	for _, acct := range list.Accounts {
		source := acct.Source
		if acct.SSORole != "" {
			source += " (" + acct.SSORole + ")" // the role each account signs with
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", acct.ID, acct.Name, source, dash(acct.OUPath), dash(formatTags(acct.Tags)))
	}
	fmt.Fprintf(tw, "\n%d accounts\n", list.Count)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range list.Summary.DelegatedAdministrators {
		fmt.Fprintf(env.stdout, "Delegated administrator for the organization: %s (%s): %s\n", d.AccountID, d.Name, strings.Join(d.Services, ", "))
	}
	for _, w := range list.Warnings {
		fmt.Fprintln(env.stderr, "Warning: "+w)
	}
	return nil
}

func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
