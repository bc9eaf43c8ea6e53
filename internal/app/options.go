package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
	"github.com/centralops/aws-mcp-multi-account/teamserver"
)

// AgentCoreRuntimeAddr is where AgentCore Runtime expects an MCP server
// container to listen (on path /mcp).
const AgentCoreRuntimeAddr = "0.0.0.0:8000"

// Defaults of the Lambda bridge's own settings.
const (
	DefaultInvocationBudget = 28 * time.Second
	DefaultResponseMargin   = 1500 * time.Millisecond
)

// option is one setting: its flag ("" when it is set only in the
// environment), its environment variables (the first one set wins), its
// help, and bind, which puts its default, then the environment's value,
// in its Config field and defines its flag. Each setting is declared once,
// in options; its default is its package's constant. The help of a flag
// names its environment variables, so -h lists them all (a test holds
// that, and README's Configuration tables, against this table).
type option struct {
	flag string
	env  []string
	help string
	bind func(c *Config, e *envReader, fs *flag.FlagSet)
}

// env lists environment variable names.
func env(names ...string) []string { return names }

// options are every configuration setting, in the order -h lists them.
var options = []option{
	stringOpt("endpoint", env("AWS_MCP_ENDPOINT"), upstream.DefaultEndpoint, func(c *Config) *string { return &c.Endpoint },
		"AWS MCP Server URL (env AWS_MCP_ENDPOINT); https only, except loopback"),
	stringOpt("mcp-region", env("AWS_MCP_REGION"), "", func(c *Config) *string { return &c.MCPRegion },
		"the AWS MCP Server's endpoint Region by name, e.g. eu-central-1 (one of "+strings.Join(upstream.EndpointRegions, ", ")+
			"); a call's target region stays its own (env AWS_MCP_REGION)"),
	stringOpt("accounts", env("AWS_MCP_ACCOUNTS_FILE"), "", func(c *Config) *string { return &c.AccountsFile },
		"JSON or YAML accounts file (env AWS_MCP_ACCOUNTS_FILE); TARGET_ACCOUNTS holds the same JSON inline"),
	stringOpt("", env("TARGET_ACCOUNTS"), "", func(c *Config) *string { return &c.TargetAccounts },
		"the accounts JSON inline, as --accounts holds it in a file (the seed's Lambda contract)"),
	stringOpt("role-name", env("TARGET_ROLE_NAME"), auth.DefaultRoleName, func(c *Config) *string { return &c.RoleName },
		"role assumed in each member account (env TARGET_ROLE_NAME)"),
	stringOpt("external-id", env("TARGET_EXTERNAL_ID"), "", func(c *Config) *string { return &c.ExternalID },
		"ExternalId passed to AssumeRole (env TARGET_EXTERNAL_ID)"),
	stringOpt("session-name", nil, auth.DefaultSessionName, func(c *Config) *string { return &c.SessionName },
		"RoleSessionName; {account} becomes the account id, {user} the local user name (CloudTrail attribution)"),
	stringOpt("region", env("AWS_REGION", "AWS_DEFAULT_REGION"), proxy.DefaultRegion, func(c *Config) *string { return &c.Region },
		"default target region of a query, sent upstream as _meta.AWS_REGION (env AWS_REGION, else AWS_DEFAULT_REGION)"),
	stringOpt("signing-region", nil, "", func(c *Config) *string { return &c.SigningRegion },
		"SigV4 region of the endpoint (default: from the aws-mcp.<region>.api.aws host, else --region)"),
	intOpt("concurrency", env("AWS_MCP_CONCURRENCY"), proxy.DefaultConcurrency, func(c *Config) *int { return &c.Concurrency },
		"accounts (and regions) queried at once by query_all; 0, the default, is automatic: every target at once, held back by each account's quota pacing and --max-in-flight (env AWS_MCP_CONCURRENCY)"),
	intOpt("max-in-flight", env("AWS_MCP_MAX_IN_FLIGHT"), 0, func(c *Config) *int { return &c.MaxInFlight },
		"upstream calls in flight in the whole process, shared fairly among a team server's callers; 0, the default, sizes it from memory: 5,120 (180 MiB at 36 KiB a call), or half of GOMEMLIMIT when set (env AWS_MCP_MAX_IN_FLIGHT)"),
	durationOpt("timeout", env("AWS_MCP_TIMEOUT"), proxy.DefaultTimeout, func(c *Config) *time.Duration { return &c.Timeout },
		"per-account call timeout (env AWS_MCP_TIMEOUT)"),
	stringOpt("profile", env("AWS_PROFILE"), "", func(c *Config) *string { return &c.Profile },
		"AWS profile of the base (central) credentials (env AWS_PROFILE)"),
	boolOpt("org", env("AWS_MCP_ORG"), func(c *Config) *bool { return &c.Org },
		"discover accounts from AWS Organizations (env AWS_MCP_ORG)"),
	durationOpt("org-ttl", env("AWS_MCP_ORG_TTL"), accounts.DefaultOrgTTL, func(c *Config) *time.Duration { return &c.OrgTTL },
		"how long discovered accounts are cached (env AWS_MCP_ORG_TTL)"),
	stringOpt("org-role", env("AWS_MCP_ORG_ROLE"), "", func(c *Config) *string { return &c.OrgRole },
		"role ARN to read Organizations through (management or delegated-admin account; env AWS_MCP_ORG_ROLE)"),
	stringOpt("profiles", nil, "", func(c *Config) *string { return &c.Profiles },
		"glob of AWS config profiles; each is an account using that profile's own credentials"),
	stringOpt("sso-session", env("AWS_MCP_SSO_SESSION"), "", func(c *Config) *string { return &c.SSOSession },
		"IAM Identity Center: the [sso-session NAME] of your AWS config file; every account the portal lists for you, after aws sso login (env AWS_MCP_SSO_SESSION)"),
	listOptDefault("sso-role", env("AWS_MCP_SSO_ROLES"), accounts.DefaultSSORoles, func(c *Config) *[]string { return &c.SSORoles },
		"IAM Identity Center roles (permission sets) to sign with, globs in order of preference; accounts with none are left out (env AWS_MCP_SSO_ROLES)"),
	listOptDefault("sso-read-only-roles", env("AWS_MCP_SSO_READ_ONLY_ROLES"), accounts.DefaultSSOReadOnlyRoles, func(c *Config) *[]string { return &c.SSOReadOnlyRoles },
		"IAM Identity Center roles declared read-only: a query_all of scripts runs only in accounts signing with one, unless --allow-write-fanout (env AWS_MCP_SSO_READ_ONLY_ROLES)"),
	listOpt("exclude", nil, func(c *Config) *[]string { return &c.Exclude },
		"account ids or name globs left out of every source (comma-separated, repeatable)"),
	boolOpt("read-only", env("AWS_MCP_READ_ONLY"), func(c *Config) *bool { return &c.ReadOnly },
		"pass a ReadOnlyAccess session policy on every AssumeRole and refuse write tools; scripts run bounded by it (env AWS_MCP_READ_ONLY)"),
	stringOpt("session-policy-arn", env("AWS_MCP_SESSION_POLICY_ARN"), "", func(c *Config) *string { return &c.SessionPolicyARN },
		"managed read-only session policy of --read-only and of fan-out sessions (default arn:<partition>:iam::aws:policy/ReadOnlyAccess; env AWS_MCP_SESSION_POLICY_ARN)"),
	boolOpt("allow-write-fanout", env("AWS_MCP_ALLOW_WRITE_FANOUT"), func(c *Config) *bool { return &c.AllowWriteFanout },
		"let query_all fan out tools that are not read-only, and run scripts with the role's own permissions (env AWS_MCP_ALLOW_WRITE_FANOUT)"),
	boolOpt("allow-changes", env("AWS_MCP_ALLOW_CHANGES"), func(c *Config) *bool { return &c.AllowChanges },
		"offer change_all and apply_change: a change across accounts with a plan, a human's yes, a canary and a failure budget; never with --read-only, never in the Lambda bridge (env AWS_MCP_ALLOW_CHANGES)"),
	sizeOpt("max-response-bytes", env("AWS_MCP_MAX_RESPONSE_BYTES"), upstream.DefaultMaxResponseBytes, func(c *Config) *int64 { return &c.MaxResponseBytes },
		"largest upstream answer accepted per account (e.g. 10MiB; env AWS_MCP_MAX_RESPONSE_BYTES)"),
	levelOpt("log-level", env("AWS_MCP_LOG_LEVEL"), func(c *Config) *slog.Level { return &c.LogLevel },
		"debug, info, warn or error (env AWS_MCP_LOG_LEVEL); logs go to stderr"),
	stringOpt("log-format", env("AWS_MCP_LOG_FORMAT"), "text", func(c *Config) *string { return &c.LogFormat },
		"text or json (env AWS_MCP_LOG_FORMAT)"),
	sizeOpt("result-budget", env("AWS_MCP_RESULT_BUDGET"), results.DefaultBudget, func(c *Config) *int64 { return &c.ResultBudget },
		"byte budget of a tool result's text; what does not fit is kept for get_result (env AWS_MCP_RESULT_BUDGET)"),
	sizeOpt("result-budget-max", env("AWS_MCP_RESULT_BUDGET_MAX"), results.DefaultBudgetMax, func(c *Config) *int64 { return &c.ResultBudgetMax },
		"the most a call's max_bytes may ask for (env AWS_MCP_RESULT_BUDGET_MAX)"),
	sizeOpt("result-store-bytes", env("AWS_MCP_RESULT_STORE_BYTES"), results.DefaultStoreBytes, func(c *Config) *int64 { return &c.ResultStoreBytes },
		"memory kept for stored results; the oldest go first (env AWS_MCP_RESULT_STORE_BYTES)"),
	durationOpt("result-ttl", env("AWS_MCP_RESULT_TTL"), results.DefaultTTL, func(c *Config) *time.Duration { return &c.ResultTTL },
		"how long stored results are kept (env AWS_MCP_RESULT_TTL)"),
	durationOpt("reply-within", env("AWS_MCP_REPLY_WITHIN"), proxy.DefaultReplyWithin, func(c *Config) *time.Duration { return &c.ReplyWithin },
		"query_all answers by then with the accounts that finished; the rest stay pending in the background; 0 waits for all (env AWS_MCP_REPLY_WITHIN)"),
	stringOpt("results-bucket", env("AWS_MCP_RESULTS_BUCKET"), "", func(c *Config) *string { return &c.ResultsBucket },
		"S3 bucket that keeps full answers, so any process can serve get_result (env AWS_MCP_RESULTS_BUCKET)"),
	stringOpt("results-prefix", env("AWS_MCP_RESULTS_PREFIX"), "results/", func(c *Config) *string { return &c.ResultsPrefix },
		"key prefix of stored results in the bucket (env AWS_MCP_RESULTS_PREFIX)"),
	stringOpt("", env("AWS_MCP_RESULTS_KMS_KEY"), "", func(c *Config) *string { return &c.ResultsKMSKey },
		"KMS key of the results bucket's objects (SSE-KMS); without it, SSE-S3"),
	intOpt("max-concurrency", env("AWS_MCP_MAX_CONCURRENCY"), proxy.DefaultMaxConcurrency, func(c *Config) *int { return &c.MaxConcurrency },
		"with a --concurrency: the most workers a fan-out grows to when its accounts would not answer before its deadline (env AWS_MCP_MAX_CONCURRENCY)"),
	durationOpt("denied-ttl", env("AWS_MCP_DENIED_TTL"), auth.DefaultDeniedTTL, func(c *Config) *time.Duration { return &c.DeniedTTL },
		"how long an AccessDenied on AssumeRole is remembered before the role is tried again; 0 disables (env AWS_MCP_DENIED_TTL)"),
	boolOpt("allow-secret-fanout", env("AWS_MCP_ALLOW_SECRET_FANOUT"), func(c *Config) *bool { return &c.AllowSecretFanout },
		"let query_all fan out reads whose answer is a secret: no inline deny on fan-out sessions (env AWS_MCP_ALLOW_SECRET_FANOUT)"),
	floatOpt("account-rps", env("AWS_MCP_ACCOUNT_RPS"), upstream.DefaultAccountRPS, func(c *Config) *float64 { return &c.AccountRPS },
		"upstream requests a second per account, within the AWS MCP Server's quota (10 per account and endpoint Region, quotas page read 2026-12-06); 0 is unpaced (env AWS_MCP_ACCOUNT_RPS)"),
	intOpt("account-concurrency", env("AWS_MCP_ACCOUNT_CONCURRENCY"), upstream.DefaultAccountConcurrency, func(c *Config) *int { return &c.AccountConcurrency },
		"upstream requests in flight per account, within the quota's 100 concurrent connections per account and endpoint Region; 0 is unbounded (env AWS_MCP_ACCOUNT_CONCURRENCY)"),
	stringOpt("http", env("AWS_MCP_HTTP_ADDR"), "", func(c *Config) *string { return &c.HTTPAddr },
		"serve: MCP Streamable HTTP at ADDR/mcp for a team instead of stdio, e.g. :8080 (env AWS_MCP_HTTP_ADDR)"),
	boolOpt("agentcore-runtime", env("AWS_MCP_AGENTCORE_RUNTIME"), func(c *Config) *bool { return &c.AgentCoreRuntime },
		"serve as an MCP server on Amazon Bedrock AgentCore Runtime: --http "+AgentCoreRuntimeAddr+" (unless --http is given), --stateless, JSON logs (env AWS_MCP_AGENTCORE_RUNTIME)"),
	boolOpt("trust-runtime-user-id", env("AWS_MCP_TRUST_RUNTIME_USER_ID"), func(c *Config) *bool { return &c.TrustRuntimeUserID },
		"serve --agentcore-runtime behind SigV4 inbound auth: the caller is the X-Amzn-Bedrock-AgentCore-Runtime-User-Id header the Runtime sets; only where nothing but the Runtime reaches the server (env AWS_MCP_TRUST_RUNTIME_USER_ID)"),
	stringOpt("oidc-issuer", env("AWS_MCP_OIDC_ISSUER"), "", func(c *Config) *string { return &c.OIDCIssuer },
		"serve --http: OpenID provider whose bearer tokens are accepted (env AWS_MCP_OIDC_ISSUER)"),
	stringOpt("oidc-audience", env("AWS_MCP_OIDC_AUDIENCE"), "", func(c *Config) *string { return &c.OIDCAudience },
		"serve --http: this server's resource URI, the audience tokens must be issued for (env AWS_MCP_OIDC_AUDIENCE)"),
	listOpt("oidc-client-id", env("AWS_MCP_OIDC_CLIENT_IDS"), func(c *Config) *[]string { return &c.OIDCClientIDs },
		"serve --http: app client accepted in tokens without an audience, as client_id of an access token (Amazon Cognito's); repeatable or comma-separated (env AWS_MCP_OIDC_CLIENT_IDS)"),
	listOpt("oidc-scope", env("AWS_MCP_OIDC_SCOPES"), func(c *Config) *[]string { return &c.OIDCScopes },
		"serve --http: scope every token must carry; repeatable or comma-separated (env AWS_MCP_OIDC_SCOPES)"),
	stringOpt("access-policy", env("AWS_MCP_ACCESS_POLICY"), "", func(c *Config) *string { return &c.AccessPolicy },
		"serve --http: YAML or JSON file mapping token claims to the accounts each caller reaches (env AWS_MCP_ACCESS_POLICY)"),
	stringOpt("source-identity", env("AWS_MCP_SOURCE_IDENTITY"), "", func(c *Config) *string { return &c.SourceIdentity },
		"serve --http: token claim passed as sts:SourceIdentity on every AssumeRole (env AWS_MCP_SOURCE_IDENTITY)"),
	intOpt("caller-fanouts", env("AWS_MCP_CALLER_FANOUTS"), proxy.DefaultCallerFanouts, func(c *Config) *int { return &c.CallerFanouts },
		"serve --http: fan-outs one caller runs at once; more wait their turn within their reply deadline (env AWS_MCP_CALLER_FANOUTS)"),
	durationOpt("drain", env("AWS_MCP_DRAIN"), teamserver.DefaultDrain, func(c *Config) *time.Duration { return &c.Drain },
		"serve --http: at SIGTERM, how long calls in flight may take to finish (env AWS_MCP_DRAIN)"),
	durationOpt("body-timeout", env("AWS_MCP_BODY_TIMEOUT"), teamserver.DefaultBodyTimeout, func(c *Config) *time.Duration { return &c.BodyTimeout },
		"serve --http: how long a request body may take to arrive; slower ones get 408 (env AWS_MCP_BODY_TIMEOUT)"),
	boolOpt("stateless", env("AWS_MCP_STATELESS"), func(c *Config) *bool { return &c.Stateless },
		"serve --http: no server-side MCP sessions, so many processes serve any caller (env AWS_MCP_STATELESS)"),
	stringOpt("tls-cert", env("AWS_MCP_TLS_CERT"), "", func(c *Config) *string { return &c.TLSCert },
		"serve --http: TLS certificate file (env AWS_MCP_TLS_CERT); without it, put a TLS-terminating load balancer in front"),
	stringOpt("tls-key", env("AWS_MCP_TLS_KEY"), "", func(c *Config) *string { return &c.TLSKey },
		"serve --http: TLS key file (env AWS_MCP_TLS_KEY)"),
	boolOpt("insecure-no-auth", env("AWS_MCP_INSECURE_NO_AUTH"), func(c *Config) *bool { return &c.InsecureNoAuth },
		"serve --http: allow a non-loopback address without --oidc-issuer (anyone who reaches it uses the central credentials; env AWS_MCP_INSECURE_NO_AUTH)"),
	durationOpt("", env("AWS_MCP_INVOCATION_BUDGET"), DefaultInvocationBudget, func(c *Config) *time.Duration { return &c.InvocationBudget },
		"Lambda bridge: the longest an invocation may take, below the gateway's own limit"),
	durationOpt("", env("AWS_MCP_RESPONSE_MARGIN"), DefaultResponseMargin, func(c *Config) *time.Duration { return &c.ResponseMargin },
		"Lambda bridge: the part of the invocation kept to encode and return its answer"),
}

// typedOpt is an option of type T: def, else the first of vars set
// (read by parse), in field; define puts its flag on a FlagSet.
func typedOpt[T any](name string, vars []string, def T, field func(*Config) *T, help string,
	parse func(string) (T, error), define func(fs *flag.FlagSet, p *T, name string, value T, usage string)) option {
	return option{name, vars, help, func(c *Config, e *envReader, fs *flag.FlagSet) {
		p := field(c)
		*p = parseEnv(e, vars, def, parse)
		if name != "" {
			define(fs, p, name, *p, help)
		}
	}}
}

func stringOpt(name string, vars []string, def string, field func(*Config) *string, help string) option {
	return typedOpt(name, vars, def, field, help, func(v string) (string, error) { return v, nil }, (*flag.FlagSet).StringVar)
}

func intOpt(name string, vars []string, def int, field func(*Config) *int, help string) option {
	return typedOpt(name, vars, def, field, help, func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, errors.New("want a whole number")
		}
		return n, nil
	}, (*flag.FlagSet).IntVar)
}

func floatOpt(name string, vars []string, def float64, field func(*Config) *float64, help string) option {
	return typedOpt(name, vars, def, field, help, func(v string) (float64, error) {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, errors.New("want a number")
		}
		return n, nil
	}, (*flag.FlagSet).Float64Var)
}

// boolOpt is a switch, off unless set.
func boolOpt(name string, vars []string, field func(*Config) *bool, help string) option {
	return typedOpt(name, vars, false, field, help, func(v string) (bool, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, errors.New("want true or false")
		}
		return b, nil
	}, (*flag.FlagSet).BoolVar)
}

func durationOpt(name string, vars []string, def time.Duration, field func(*Config) *time.Duration, help string) option {
	return typedOpt(name, vars, def, field, help, accounts.ParseDuration,
		func(fs *flag.FlagSet, p *time.Duration, name string, _ time.Duration, usage string) {
			fs.Var(durationFlag{p}, name, usage)
		})
}

func sizeOpt(name string, vars []string, def int64, field func(*Config) *int64, help string) option {
	return typedOpt(name, vars, def, field, help, func(v string) (int64, error) {
		n, err := parseByteSize(v)
		if err != nil {
			return 0, errors.New("want a positive size such as 10MiB")
		}
		return n, nil
	}, func(fs *flag.FlagSet, p *int64, name string, _ int64, usage string) {
		fs.Var(byteSizeFlag{p}, name, usage)
	})
}

func levelOpt(name string, vars []string, field func(*Config) *slog.Level, help string) option {
	return typedOpt(name, vars, slog.LevelInfo, field, help, func(v string) (slog.Level, error) {
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err != nil {
			return l, errors.New("want debug, info, warn or error")
		}
		return l, nil
	}, func(fs *flag.FlagSet, p *slog.Level, name string, _ slog.Level, usage string) {
		fs.Var(logLevelFlag{p}, name, usage)
	})
}

// listOpt is a comma-separated list; the flag is repeatable, and adds to
// what the environment set.
func listOpt(name string, vars []string, field func(*Config) *[]string, help string) option {
	return listOptDefault(name, vars, nil, field, help)
}

// listOptDefault is listOpt with a default list, which the first value
// given on the command line replaces (later ones add to it).
func listOptDefault(name string, vars []string, def []string, field func(*Config) *[]string, help string) option {
	return typedOpt(name, vars, def, field, help, func(v string) ([]string, error) {
		var out []string
		listFlag{&out}.Set(v)
		return out, nil
	}, func(fs *flag.FlagSet, p *[]string, name string, _ []string, usage string) {
		fs.Var(&replacingList{list: p}, name, usage)
	})
}

// replacingList is a listFlag whose first Set replaces the default.
type replacingList struct {
	list *[]string
	set  bool
}

func (f *replacingList) String() string { return listFlag{f.list}.String() }

func (f *replacingList) Set(v string) error {
	if !f.set {
		*f.list, f.set = nil, true
	}
	return listFlag{f.list}.Set(v)
}

// envReader reads typed environment variables, remembering the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

// lookup returns the value of the first of vars that is set. An MCP
// Bundle's placeholder that its host left unfilled ("${user_config.x}",
// for an optional setting the person left empty) is not set either.
func (e *envReader) lookup(vars []string) (name, value string) {
	for _, name := range vars {
		v := strings.TrimSpace(e.getenv(name))
		if v != "" && !(strings.HasPrefix(v, "${user_config.") && strings.HasSuffix(v, "}")) {
			return name, v
		}
	}
	return "", ""
}

// parseEnv reads the first of vars that is set with parse, else def.
func parseEnv[T any](e *envReader, vars []string, def T, parse func(string) (T, error)) T {
	name, v := e.lookup(vars)
	if v == "" {
		return def
	}
	out, err := parse(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: %w", name, v, err)
	}
	return out
}

// settingNames names a setting (by its flag name) as the user sets it:
// "--timeout" (-h gives its variable), or with envOnly "AWS_MCP_TIMEOUT";
// "" for a name that is not a setting.
func settingNames(envOnly bool) func(string) string {
	return func(name string) string {
		for _, o := range options {
			if o.flag != name {
				continue
			}
			switch {
			case !envOnly:
				return "--" + o.flag
			case len(o.env) > 0:
				return o.env[0]
			}
			return ""
		}
		return ""
	}
}
