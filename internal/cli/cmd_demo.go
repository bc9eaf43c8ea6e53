package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// demoAccount is one account of the demo estate.
type demoAccount struct {
	name, ou, env, team string
}

// demoEstate is the demo's 25 accounts.
var demoEstate = []demoAccount{
	{"prod-payments", "Root/Workloads/Prod", "prod", "payments"},
	{"prod-web", "Root/Workloads/Prod", "prod", "web"},
	{"prod-mobile", "Root/Workloads/Prod", "prod", "mobile"},
	{"prod-data", "Root/Workloads/Prod", "prod", "data"},
	{"prod-identity", "Root/Workloads/Prod", "prod", "identity"},
	{"prod-search", "Root/Workloads/Prod", "prod", "search"},
	{"staging-payments", "Root/Workloads/Staging", "staging", "payments"},
	{"staging-web", "Root/Workloads/Staging", "staging", "web"},
	{"staging-data", "Root/Workloads/Staging", "staging", "data"},
	{"dev-payments", "Root/Workloads/Dev", "dev", "payments"},
	{"dev-web", "Root/Workloads/Dev", "dev", "web"},
	{"dev-data", "Root/Workloads/Dev", "dev", "data"},
	{"sandbox-alice", "Root/Sandbox", "sandbox", "platform"},
	{"sandbox-bob", "Root/Sandbox", "sandbox", "platform"},
	{"sandbox-carol", "Root/Sandbox", "sandbox", "data"},
	{"security-audit", "Root/Security", "security", "security"},
	{"security-logs", "Root/Security", "security", "security"},
	{"shared-networking", "Root/Infrastructure", "shared", "platform"},
	{"shared-tooling", "Root/Infrastructure", "shared", "platform"},
	{"shared-dns", "Root/Infrastructure", "shared", "platform"},
	{"ml-training", "Root/Workloads/Prod", "prod", "ml"},
	{"ml-inference", "Root/Workloads/Prod", "prod", "ml"},
	{"analytics", "Root/Workloads/Prod", "prod", "data"},
	{"legacy-erp", "Root/Legacy", "prod", "finance"},
	{"marketing-site", "Root/Workloads/Prod", "prod", "marketing"},
}

// Demo faults: two slow accounts and one whose role does not trust us.
const (
	demoSlow1, demoSlow2 = "legacy-erp", "analytics"
	demoDenied           = "security-audit"
)

// demoDelegations are the demo organization's delegated administrators,
// as list_accounts names them.
var demoDelegations = map[string][]string{
	"security-logs":  {"access-analyzer.amazonaws.com", "config.amazonaws.com", "guardduty.amazonaws.com", "securityhub.amazonaws.com"},
	"shared-tooling": {"resource-explorer-2.amazonaws.com"},
}

// demoScript is the demo's default script: every account's S3 buckets.
const demoScript = "resp = await call_boto3(service_name='s3', operation_name='ListBuckets')\nresp"

// demoCmd runs the whole flow against in-process fakes of AWS: a query_all
// through the real code path (or, with --serve, the stdio MCP server).
func demoCmd(ctx context.Context, args []string, env cliEnv) error {
	var cfg app.Config
	// The demo ignores the real AWS environment: it talks only to its fakes.
	noEnv := func(string) string { return "" }
	fs, envErr := app.NewFlagSet(buildinfo.Program+" demo", &cfg, noEnv, env.stderr)
	serveMode := fs.Bool("serve", false, "run the stdio MCP server wired to the fakes (for Claude Desktop or the MCP Inspector)")
	asJSON := fs.Bool("json", false, "print the query_all result as JSON")
	script := fs.String("script", demoScript, "Python script to fan out with aws___run_script (AWS through await call_boto3(...); the last expression is the answer)")
	identityCenter := fs.Bool("sso", false, "take the accounts from a fake IAM Identity Center portal, as after aws sso login: no base credentials, no role to deploy")
	usageOf("demo", fs)
	if err := app.ParseFlags(fs, args, envErr); err != nil {
		return err
	}
	if err := demoFlagsOnly(fs); err != nil {
		return err
	}
	if cfg.HTTPAddr != "" && !*serveMode {
		return fmt.Errorf("%w: --http serves the demo's fakes to MCP clients: give --serve too", app.ErrConfig)
	}
	if !*serveMode && env.getenv("AWS_MCP_LOG_LEVEL") == "" && !flagSet(fs, "log-level") {
		cfg.LogLevel = slog.LevelError // the table is the output
	}

	ids := make([]fakeaws.Account, len(demoEstate))
	entries := make([]map[string]any, len(demoEstate))
	byName := map[string]string{}
	for i, d := range demoEstate {
		id := fmt.Sprintf("4%02d15%07d", i+10, 1234567+i*7919)
		ids[i] = fakeaws.Account{ID: id, Name: d.name}
		byName[d.name] = id
		entries[i] = map[string]any{"id": id, "name": d.name, "ou_path": d.ou, "tags": map[string]string{"env": d.env, "team": d.team}}
		if services := demoDelegations[d.name]; services != nil {
			entries[i]["delegated_admin_for"] = services
		}
	}
	var portal []fakeaws.SSOAccount
	if *identityCenter {
		for i, d := range demoEstate {
			roles := []string{"ReadOnlyAccess"}
			if d.name == demoDenied {
				roles = []string{"AdministratorAccess"} // left out: not a read-only permission set
			}
			portal = append(portal, fakeaws.SSOAccount{ID: ids[i].ID, Name: d.name, Email: "aws+" + d.name + "@example.com", Roles: roles})
		}
	}
	stack := fakeaws.Start(fakeaws.Options{Accounts: ids, SSO: portal})
	defer stack.Close()
	stack.MCP.SetDefaultLatency(60 * time.Millisecond)
	stack.MCP.SetLatency(byName[demoSlow1], 1500*time.Millisecond)
	stack.MCP.SetLatency(byName[demoSlow2], 2200*time.Millisecond)
	stack.STS.Deny(byName[demoDenied])

	base := aws.Config{
		Region:      "us-east-1",
		Credentials: stack.BaseCredentials(),
	}
	if *identityCenter {
		// What aws configure sso-session and aws sso login leave in a home
		// directory, in a home of the demo's own: no profile, no keys.
		home, err := os.MkdirTemp("", "aws-mcp-demo-sso-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(home)
		if err := fakeaws.WriteSSOLogin(home, "demo", "https://demo.awsapps.com/start", "us-east-1", stack.SSO.IssueToken(8*time.Hour)); err != nil {
			return err
		}
		os.Setenv("HOME", home) // the SDK finds the config and the token cache there
		cfg.SSOSession, base.Credentials = "demo", nil
	} else {
		estate, _ := json.Marshal(entries)
		cfg.TargetAccounts = string(estate)
	}
	cfg.Endpoint = stack.MCPURL
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", app.ErrConfig, err)
	}
	wiring := app.Wiring{Base: &base, STSEndpoint: stack.STSURL, SSOEndpoint: stack.SSOURL}
	if *serveMode && cfg.HTTPAddr != "" {
		// The team server on loopback, without sign-in (as serve --http
		// allows there), wired to the same fakes.
		return serveHTTP(ctx, cfg, app.NewLogger(env.stderr, cfg), wiring, func(addr string) {
			url := "http://" + addr + "/mcp"
			fmt.Fprintf(env.stdout, "demo: the team server (Streamable HTTP) at %s, against fakes of AWS with %d accounts; health at http://%s/healthz.\n"+
				"demo: try it with: npx @modelcontextprotocol/inspector --cli %s --transport http --method tools/list\n"+
				"demo: or the Inspector's UI: npx @modelcontextprotocol/inspector, transport Streamable HTTP, URL %s. Ctrl-C stops it.\n",
				url, len(ids), addr, url, url)
		})
	}
	a, err := app.Build(ctx, cfg, app.NewLogger(env.stderr, cfg), wiring)
	if err != nil {
		return err
	}
	defer a.Close()

	if *serveMode {
		fmt.Fprintf(env.stderr, "demo: serving MCP over stdio against fakes of STS (%s) and the AWS MCP Server (%s) with %d accounts.\n"+
			"demo: try it with: npx @modelcontextprotocol/inspector go run . demo --serve\n", stack.STSURL, stack.MCPURL, len(ids))
		return serveStdio(ctx, a, env.stdin, env.stdout)
	}

	p := newPainter(env.stdout, env.getenv)
	if !*asJSON && *identityCenter {
		fmt.Fprintf(env.stdout, "%s\n", p.bold("Demo: a script in every account an IAM Identity Center portal lists for you (after aws sso login), against local fakes of AWS:"))
		fmt.Fprintf(env.stdout, "    %s\n", strings.ReplaceAll(*script, "\n", "\n    "))
		fmt.Fprintf(env.stdout, "Fakes: the portal and SSO OIDC at %s (%s has only AdministratorAccess), AWS MCP Server at %s (%s and %s are slow).\n\n",
			stack.SSOURL, demoDenied, stack.MCPURL, demoSlow1, demoSlow2)
	} else if !*asJSON {
		fmt.Fprintf(env.stdout, "%s\n", p.bold(fmt.Sprintf("Demo: a script in %d accounts, through the real proxy against local fakes of AWS:", len(ids))))
		fmt.Fprintf(env.stdout, "    %s\n", strings.ReplaceAll(*script, "\n", "\n    "))
		fmt.Fprintf(env.stdout, "Fakes: STS at %s (%s denies us), AWS MCP Server at %s (%s and %s are slow).\n\n",
			stack.STSURL, demoDenied, stack.MCPURL, demoSlow1, demoSlow2)
	}
	total := len(ids)
	if list, err := a.Service.ListAccounts(ctx, accounts.Selector{}); err == nil {
		total = list.Count
	}
	progress, finish := progressReporter(env.stderr, total, "query_all")
	arguments, _ := json.Marshal(map[string]string{"code": *script})
	out, err := a.Service.QueryAll(ctx, proxy.QueryAllRequest{ToolName: proxy.RunScriptTool, Arguments: arguments}, progress)
	finish()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, wholeReply(out))
	}
	if err := printResults(env.stdout, p, out); err != nil {
		return err
	}
	if *identityCenter {
		for _, w := range out.Warnings {
			fmt.Fprintln(env.stdout, "\nWarning: "+w)
		}
		fmt.Fprintf(env.stdout, "\nEach account's answer was signed with its own IAM Identity Center role credentials (%d GetRoleCredentials calls, %d AssumeRole),\n"+
			"of the read-only permission set ReadOnlyAccess: IAM keeps the script from writing. No base credentials, no role deployed.\n",
			stack.SSO.Calls("GetRoleCredentials"), stack.STS.AssumeRoleCount(""))
	} else {
		fmt.Fprintf(env.stdout, "\nEach account's answer was signed with its own assumed-role credentials (%d AssumeRole calls, %d upstream sessions),\n"+
			"under a read-only session policy that also denies secret reads: a write in the script fails with AccessDenied in every account.\n",
			stack.STS.AssumeRoleCount(""), a.Pool.SessionsOpened())
	}
	if list, err := a.Service.ListAccounts(ctx, accounts.Selector{}); err == nil {
		for _, d := range list.Summary.DelegatedAdministrators {
			fmt.Fprintf(env.stdout, "Delegated administrator: %s (%s) answers for the whole organization for %s: one query there, not a fan-out.\n",
				d.Name, d.AccountID, strings.Join(d.Services, ", "))
		}
	}
	fmt.Fprintln(env.stdout, "Next: `go run . demo --serve` to use these fakes from an MCP client; see README for real accounts.")
	return nil
}

// demoConfigFlags are the configuration flags the demo honours; it runs
// against its own fakes, so the others (accounts, credentials, endpoints)
// would be ignored, and are refused instead.
var demoConfigFlags = []string{"http", "stateless", "allow-changes", "allow-write-fanout", "allow-secret-fanout", "read-only",
	"log-level", "log-format", "concurrency", "max-concurrency", "timeout", "result-budget", "result-budget-max", "result-store-bytes",
	"result-ttl", "reply-within", "account-rps", "account-concurrency", "sso-role", "sso-read-only-roles", "region", "caller-fanouts", "drain"}

// demoFlagsOnly refuses a configuration flag the demo does not use.
func demoFlagsOnly(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && app.IsConfigFlag(f.Name) && !slices.Contains(demoConfigFlags, f.Name) {
			err = fmt.Errorf("%w: demo: --%s is not used by the demo, which runs against its own fakes of AWS; drop it (or use serve)", app.ErrConfig, f.Name)
		}
	})
	return err
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}
