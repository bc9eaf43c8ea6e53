package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// The doctor's checks, by name (the report's JSON carries them).
const (
	checkBaseName            = "base credentials"
	checkCallerName          = "caller identity"
	checkSSOName             = "IAM Identity Center"
	checkEndpointName        = "endpoint"
	checkAccountsName        = "accounts"
	checkAssumeRoleName      = "assume role"
	checkRoleCredentialsName = "role credentials"
	checkUpstreamName        = "upstream"
	checkToolsName           = "upstream tools"
)

// check is one line of the doctor's report.
type check struct {
	Name       string `json:"name"`
	Account    string `json:"account,omitempty"`
	OK         bool   `json:"ok"`
	Detail     string `json:"detail"`
	Fix        string `json:"fix,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// doctorReport is the doctor's answer.
type doctorReport struct {
	OK     bool    `json:"ok"`
	Checks []check `json:"checks"`
	// Warnings name accounts that two sources both listed.
	Warnings []string `json:"warnings,omitempty"`
	// accounts are the accounts checked, in order (the summary names them).
	accounts []accounts.Account
}

// doctorCmd checks, in order: base credentials, the caller identity, the
// endpoint, then for each account (in parallel) AssumeRole and the upstream
// initialize + tools/list, and says how to fix each failure.
func doctorCmd(ctx context.Context, args []string, env cliEnv) error {
	f := newCommandFlags("doctor", env)
	asJSON := f.fs.Bool("json", false, "print JSON instead of a table")
	verbose := f.fs.Bool("verbose", false, "print every check on its own line (each account's role, upstream session and tool list)")
	a, err := f.wire(ctx, args, env, app.Wiring{Fresh: true})
	if err != nil {
		return err
	}
	defer a.Close()
	report := runDoctor(ctx, a)
	if *asJSON {
		if err := writeJSON(env.stdout, report); err != nil {
			return err
		}
	} else if *verbose {
		if err := printDoctor(env.stdout, newPainter(env.stdout, env.getenv), report); err != nil {
			return err
		}
	} else if err := printDoctorSummary(env.stdout, newPainter(env.stdout, env.getenv), report); err != nil {
		return err
	}
	if !report.OK {
		return fmt.Errorf("%w: doctor found problems", errSomeFailed)
	}
	return nil
}

func runDoctor(ctx context.Context, a *app.App) doctorReport {
	var checks []check
	base := check{OK: true}
	caller := check{}
	if !identityCenterOnly(a.Config) {
		base = checkBaseCredentials(ctx, a)
		checks = append(checks, base)
		caller = check{Name: checkCallerName, Detail: "skipped: no base credentials"}
		if base.OK {
			caller = checkCallerIdentity(ctx, a)
		}
		checks = append(checks, caller)
	}
	if a.SSO != nil {
		checks = append(checks, checkSSOSession(ctx, a))
	}
	checks = append(checks, checkEndpoint(ctx, a))

	list, err := a.Directory.List(ctx)
	if err != nil {
		checks = append(checks, check{Name: checkAccountsName, Detail: err.Error(), Fix: "fix the account sources (--accounts, TARGET_ACCOUNTS, --org, --profiles)"})
	}
	perAccount := make([][]check, len(list))
	parallel := a.Config.Concurrency
	if parallel <= 0 {
		parallel = doctorParallel
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, acct := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			perAccount[i] = checkAccount(ctx, a, acct, base.OK, caller.Detail)
		})
	}
	wg.Wait()
	for _, c := range perAccount {
		checks = append(checks, c...)
	}
	report := doctorReport{OK: true, Checks: checks, Warnings: a.Directory.Warnings(), accounts: list}
	for _, c := range checks {
		report.OK = report.OK && c.OK
	}
	return report
}

// doctorParallel is how many accounts doctor checks at once without a
// --concurrency: each check makes an AssumeRole and a session.
const doctorParallel = 16

func timed(c *check, start time.Time) { c.DurationMS = time.Since(start).Milliseconds() }

// identityCenterOnly reports a configuration whose accounts all come from
// IAM Identity Center: it needs no base credentials.
func identityCenterOnly(cfg app.Config) bool {
	return cfg.SSOSession != "" && cfg.AccountsFile == "" && cfg.TargetAccounts == "" && !cfg.Org && cfg.Profiles == ""
}

// checkSSOSession checks the IAM Identity Center token: present, and valid
// or refreshed through SSO OIDC.
func checkSSOSession(ctx context.Context, a *app.App) check {
	c := check{Name: checkSSOName}
	defer timed(&c, time.Now())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	expires, err := a.SSO.Store.TokenExpiry(ctx)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "aws sso login --sso-session "+a.Config.SSOSession
		return c
	}
	c.OK = true
	c.Detail = fmt.Sprintf("session %s (%s, %s): token valid until %s", a.Config.SSOSession, a.SSO.StartURL, a.SSO.Region, expires.UTC().Format(time.RFC3339))
	return c
}

func checkBaseCredentials(ctx context.Context, a *app.App) check {
	c := check{Name: checkBaseName}
	defer timed(&c, time.Now())
	fix := "set AWS_PROFILE (and run aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or Lambda role provides credentials"
	if a.Base.Credentials == nil {
		c.Detail, c.Fix = "no base credentials found", fix
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	creds, err := a.Base.Credentials.Retrieve(ctx)
	if err != nil || !creds.HasKeys() {
		c.Detail, c.Fix = "no base credentials found", fix
		if err != nil {
			c.Detail += ": " + auth.Describe(err)
		}
		return c
	}
	c.OK, c.Detail = true, "found ("+creds.Source+")"
	return c
}

func checkCallerIdentity(ctx context.Context, a *app.App) check {
	c := check{Name: checkCallerName}
	defer timed(&c, time.Now())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := a.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		c.Detail = "sts:GetCallerIdentity failed: " + auth.Describe(err)
		c.Fix = "the base credentials are invalid or expired: refresh them (aws sso login, new keys), and check AWS_ENDPOINT_URL_STS if set"
		return c
	}
	c.OK, c.Detail = true, aws.ToString(out.Arn)
	return c
}

// checkEndpoint makes one unsigned request: any HTTP answer means reachable.
func checkEndpoint(ctx context.Context, a *app.App) check {
	c := check{Name: checkEndpointName}
	defer timed(&c, time.Now())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Config.Endpoint, nil)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "set --endpoint to a URL such as "+upstream.DefaultEndpoint
		return c
	}
	client := &http.Client{Transport: upstream.NewTransport(1), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.Detail = "unreachable: " + err.Error()
		c.Fix = "check the endpoint URL, DNS, network, HTTPS_PROXY and VPC endpoints"
		return c
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	c.OK = true
	c.Detail = fmt.Sprintf("%s reachable (HTTP %d to an unsigned GET), signing region %s", a.Config.Endpoint, resp.StatusCode, a.Config.UpstreamSigningRegion())
	return c
}

// checkAccount checks AssumeRole, then the upstream session.
func checkAccount(ctx context.Context, a *app.App, acct accounts.Account, haveBase bool, caller string) []check {
	role := check{Name: checkAssumeRoleName, Account: acct.ID}
	if acct.SSORole != "" {
		role.Name = checkRoleCredentialsName
	}
	if !haveBase && acct.Profile == "" && acct.SSORole == "" {
		role.Detail = "skipped: no base credentials"
		return []check{role}
	}
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, a.Config.Timeout)
	defer cancel()
	// The session query_all's scripts run in: STS checks its policies.
	creds, key, err := a.Credentials.For(actx, acct, a.Service.FanoutPolicy(actx, acct))
	if err == nil {
		_, err = creds.Retrieve(actx)
	}
	timed(&role, start)
	if err != nil {
		role.Detail, role.Fix = diagnoseAssumeRole(err, a, acct, caller)
		return []check{role}
	}
	role.OK = true
	switch arn := a.Credentials.RoleARN(acct); {
	case arn != "":
		role.Detail = arn + " as " + a.Credentials.SessionName(actx, acct)
	case acct.SSORole != "":
		role.Detail = "IAM Identity Center role " + acct.SSORole
		if acct.SSOReadOnly {
			role.Detail += " (declared read-only: fan-outs of scripts run here)"
		} else {
			role.Detail += " (not declared read-only: fan-outs of scripts are refused here without --allow-write-fanout)"
		}
	default:
		role.Detail = "credentials of profile " + acct.Profile
	}

	up := check{Name: checkUpstreamName, Account: acct.ID}
	start = time.Now()
	tools, err := a.Pool.ListTools(actx, upstream.Target{AccountID: acct.ID, Key: key, Credentials: creds})
	timed(&up, start)
	if err != nil {
		up.Detail, up.Fix = diagnoseUpstream(err, a)
		return []check{role, up}
	}
	up.OK = true
	up.Detail = fmt.Sprintf("initialize + tools/list: %d tools in %s", len(tools), time.Duration(up.DurationMS)*time.Millisecond)
	return []check{role, up, checkDocumentedTools(acct, tools)}
}

// documentedTools are the upstream tools this program's descriptions and
// README teach: the upstream must list them.
var documentedTools = []string{proxy.RunScriptTool, proxy.GetTasksTool}

// checkDocumentedTools flags a documented tool the upstream lacks, and
// names the tools it offers.
func checkDocumentedTools(acct accounts.Account, tools []mcp.Tool) check {
	c := check{Name: checkToolsName, Account: acct.ID}
	listed := map[string]bool{}
	var names []string
	for _, t := range tools {
		listed[t.Name] = true
		names = append(names, t.Name)
	}
	sort.Strings(names)
	var missing []string
	for _, n := range documentedTools {
		if !listed[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		c.Detail = fmt.Sprintf("the AWS MCP Server does not list %s (it lists %s)", strings.Join(missing, ", "), strings.Join(names, ", "))
		c.Fix = "check --endpoint: query_all's descriptions and README teach " + strings.Join(documentedTools, " and ") + "; list_tools shows what this endpoint offers"
		return c
	}
	c.OK = true
	c.Detail = strings.Join(names, ", ")
	if listed[proxy.CallAWSTool] {
		c.Detail += " (aws___call_aws is still listed here; the AWS MCP Server removed it on 2026-08-31)"
	}
	return c
}

func diagnoseAssumeRole(err error, a *app.App, acct accounts.Account, caller string) (detail, fix string) {
	var ae *auth.AssumeRoleError
	switch {
	case errors.Is(err, auth.ErrSSOLogin):
		return err.Error(), "aws sso login --sso-session " + a.Config.SSOSession
	case errors.Is(err, context.DeadlineExceeded):
		detail = "timed out"
		if errors.As(err, &ae) {
			detail = ae.Error()
		}
		return detail, "STS did not answer within --timeout: check the network path to STS"
	case !errors.As(err, &ae):
		return err.Error(), "check the account's profile or credentials"
	}
	detail = ae.Error()
	switch ae.Code() {
	case "AccessDenied":
		if a.Config.ExternalID != "" || acct.ExternalID != "" {
			return detail, "wrong ExternalId, or the trust policy does not allow " + caller +
				": compare sts:ExternalId in the role's trust policy with --external-id / TARGET_EXTERNAL_ID"
		}
		return detail, "make the role exist and trust " + caller + " (deploy examples/infrastructure/member-account-role.yaml); " +
			"if its trust policy requires an ExternalId, set --external-id"
	case "RegionDisabledException":
		return detail, "STS is not activated in this region for the account: activate it (IAM > Account settings) or set AWS_REGION to an enabled region"
	case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch":
		return detail, "the base credentials are invalid or expired: refresh them"
	case "ValidationError":
		return detail, "check --role-name, --session-name and the account's session_duration"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return detail, "STS is unreachable: check the network, proxy and AWS_ENDPOINT_URL_STS"
	}
	return detail, "see the AWS error above"
}

func diagnoseUpstream(err error, a *app.App) (detail, fix string) {
	detail = err.Error()
	var status *upstream.StatusError
	var netErr net.Error
	switch {
	case errors.As(err, &status) && status.Status == http.StatusForbidden && (status.Type == "InvalidSignatureException" || status.Type == "IncompleteSignatureException"):
		return "upstream 403, bad signature: " + detail, "the signature was rejected: check the system clock and the signing region (--signing-region, now " + a.Config.UpstreamSigningRegion() + ")"
	case errors.As(err, &status) && status.Status == http.StatusForbidden:
		return "upstream 403: " + detail, "the assumed role may not use the AWS MCP Server: allow aws-mcp:* (or the needed actions) in its policy"
	case errors.As(err, &status):
		return detail, "the upstream answered an error: retry later or check the endpoint"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: " + detail, "the upstream did not answer within --timeout: check the network path to the endpoint"
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "upstream unreachable: " + detail, "check the endpoint URL, DNS, network, HTTPS_PROXY and VPC endpoints"
	}
	return detail, "see the error above"
}

// printDoctor prints the report as a ✓/✗ table with the fix under each failure.
func printDoctor(w io.Writer, p painter, r doctorReport) error {
	tw := newTable(w)
	fmt.Fprintln(tw, " \tCHECK\tACCOUNT\tRESULT")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.mark(c.OK), c.Name, dash(c.Account), c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(tw, " \t\t\t%s\n", p.dim("fix: "+c.Fix))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warning := range r.Warnings {
		fmt.Fprintln(w, p.dim("warning: "+warning))
	}
	failed := 0
	for _, c := range r.Checks {
		if !c.OK {
			failed++
		}
	}
	if failed == 0 {
		_, err := fmt.Fprintln(w, p.ok("\nall checks passed"))
		return err
	}
	_, err := fmt.Fprintln(w, p.bad(fmt.Sprintf("\n%d of %d checks failed", failed, len(r.Checks))))
	return err
}

// printDoctorSummary fits the report on a screen: the shared checks, one
// line per account, the failures with their fix under the table, and a
// summary line (--verbose prints every check).
func printDoctorSummary(w io.Writer, p painter, r doctorReport) error {
	perAccount := map[string][]check{}
	var shared []check
	for _, c := range r.Checks {
		if c.Account == "" {
			shared = append(shared, c)
		} else {
			perAccount[c.Account] = append(perAccount[c.Account], c)
		}
	}
	// The upstream's tool list, once when every account lists the same.
	tools := map[string]int{}
	for _, cs := range perAccount {
		for _, c := range cs {
			if c.Name == checkToolsName && c.OK {
				tools[c.Detail]++
			}
		}
	}
	if len(tools) == 1 {
		for detail := range tools {
			shared = append(shared, check{Name: checkToolsName, OK: true, Detail: detail + " (every account that answered lists the same)"})
		}
	}
	tw := newTable(w)
	for _, c := range shared {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.mark(c.OK), c.Name, c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, " \tACCOUNT\tNAME\tROLE\tUPSTREAM\tTIME")
	var failures []check
	ready := 0
	for _, acct := range r.accounts {
		cs := perAccount[acct.ID]
		role, up, ok := "-", "-", len(cs) > 0
		var took time.Duration
		for _, c := range cs {
			took += time.Duration(c.DurationMS) * time.Millisecond
			mark := "✓"
			if !c.OK {
				mark, ok = "✗", false
				failures = append(failures, c)
			}
			switch c.Name {
			case checkAssumeRoleName, checkRoleCredentialsName:
				role = mark
			case checkUpstreamName:
				up = mark
			case checkToolsName:
				if !c.OK {
					up = "✗"
				}
			}
		}
		if ok {
			ready++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.mark(ok), acct.ID, acct.Name, role, up, took.Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The shared failures come first, in the order they were checked: a
	// skipped check after the one it waited for (its cause).
	var sharedFailures []check
	for _, c := range shared {
		if !c.OK {
			sharedFailures = append(sharedFailures, c)
		}
	}
	failures = append(sharedFailures, failures...)
	if len(failures) > 0 {
		fmt.Fprintln(w, "\nFailures:")
		for _, c := range failures {
			who := c.Name
			if c.Account != "" {
				who = c.Account + " " + c.Name
			}
			fmt.Fprintf(w, "%s %s: %s\n", p.mark(false), who, oneLine(c.Detail, 300))
			if c.Fix != "" {
				fmt.Fprintln(w, "  "+p.dim("fix: "+c.Fix))
			}
		}
	}
	for _, warning := range r.Warnings {
		fmt.Fprintln(w, p.dim("warning: "+oneLine(warning, 300)))
	}
	line := fmt.Sprintf("\n%d of %d accounts ready", ready, len(r.accounts))
	if r.OK {
		_, err := fmt.Fprintln(w, p.ok(line+"; every check passed"))
		return err
	}
	_, err := fmt.Fprintln(w, p.bad(fmt.Sprintf("%s; %s failed (doctor --verbose shows every check)", line, results.Plural(len(failures), "check"))))
	return err
}
