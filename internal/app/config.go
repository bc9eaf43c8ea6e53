package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// ErrConfig marks invalid configuration: exit code 2.
var ErrConfig = errors.New("invalid configuration")

// Config is everything the entrypoints read from flags and environment.
type Config struct {
	Endpoint         string
	AccountsFile     string
	TargetAccounts   string
	RoleName         string
	ExternalID       string
	SessionName      string
	Region           string
	SigningRegion    string
	Concurrency      int
	Timeout          time.Duration
	Profile          string
	Org              bool
	OrgTTL           time.Duration
	OrgRole          string
	Profiles         string
	Exclude          []string
	ReadOnly         bool
	SessionPolicyARN string
	AllowWriteFanout bool
	MaxResponseBytes int64
	LogLevel         slog.Level
	LogFormat        string

	// Answers an agent can use: the result budget, the result store and
	// the early reply.
	ResultBudget     int64
	ResultBudgetMax  int64
	ResultStoreBytes int64
	ResultTTL        time.Duration
	ReplyWithin      time.Duration
	ResultsBucket    string
	ResultsPrefix    string
	ResultsKMSKey    string // env only: AWS_MCP_RESULTS_KMS_KEY

	// Hardening: the fan-out's growth, denied roles, secret reads.
	MaxConcurrency    int
	DeniedTTL         time.Duration
	AllowSecretFanout bool

	// Pacing of each account's upstream requests (its quota).
	AccountRPS         float64
	AccountConcurrency int

	// The team server (serve --http).
	HTTPAddr       string
	OIDCIssuer     string
	OIDCAudience   string
	AccessPolicy   string
	SourceIdentity string
	CallerFanouts  int
	Drain          time.Duration
	BodyTimeout    time.Duration
	Stateless      bool
	TLSCert        string
	TLSKey         string
	InsecureNoAuth bool

	// The Lambda bridge (environment only): an invocation's cap, below the
	// gateway's own limit, and the time kept to encode its answer.
	InvocationBudget time.Duration
	ResponseMargin   time.Duration
}

// envReader reads typed environment variables, remembering the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

func (e *envReader) boolean(name string, def bool) bool {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b
}

func (e *envReader) integer(name string, def int) int {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: want a whole number", name, v)
	}
	return n
}

func (e *envReader) number(name string, def float64) float64 {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: want a number", name, v)
	}
	return n
}

func (e *envReader) size(name string, def int64) int64 {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := parseByteSize(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%w", name, err)
	}
	return n
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	d, err := accounts.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: %w", name, v, err)
	}
	return d
}

// durationFlag is a flag.Value for durations that also takes plain seconds.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(v string) error {
	d, err := accounts.ParseDuration(v)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// listFlag collects a repeatable, comma-separated flag.
// ListValue is a flag.Value of a comma-separated, repeatable list.
func ListValue(p *[]string) flag.Value { return listFlag{p} }

// ByteSizeValue is a flag.Value of a byte size (64KiB, 1MB, 1024).
func ByteSizeValue(p *int64) flag.Value { return byteSizeFlag{p} }

type listFlag struct{ list *[]string }

func (f listFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*f.list = append(*f.list, s)
		}
	}
	return nil
}

// byteSizeFlag parses sizes such as 10485760, 10MiB, 512KiB, 1GB.
type byteSizeFlag struct{ n *int64 }

func (f byteSizeFlag) String() string {
	if f.n == nil {
		return ""
	}
	return strconv.FormatInt(*f.n, 10)
}

func (f byteSizeFlag) Set(v string) error {
	n, err := parseByteSize(v)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}

func parseByteSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want a positive size such as 10MiB", v)
	}
	return n * mult, nil
}

// logLevelFlag parses debug, info, warn or error.
type logLevelFlag struct{ l *slog.Level }

func (f logLevelFlag) String() string {
	if f.l == nil {
		return ""
	}
	return strings.ToLower(f.l.String())
}

func (f logLevelFlag) Set(v string) error { return f.l.UnmarshalText([]byte(v)) }

// NewFlagSet defines the configuration flags on a new FlagSet, with defaults
// from the environment. Environment errors are reported by the returned
// function, after parsing.
func NewFlagSet(name string, cfg *Config, getenv func(string) string, out io.Writer) (*flag.FlagSet, func() error) {
	env := &envReader{getenv: getenv}
	*cfg = Config{
		Endpoint:         env.str("AWS_MCP_ENDPOINT", upstream.DefaultEndpoint),
		AccountsFile:     env.str("AWS_MCP_ACCOUNTS_FILE", ""),
		TargetAccounts:   env.str("TARGET_ACCOUNTS", ""),
		RoleName:         env.str("TARGET_ROLE_NAME", auth.DefaultRoleName),
		ExternalID:       env.str("TARGET_EXTERNAL_ID", ""),
		SessionName:      auth.DefaultSessionName,
		Region:           env.str("AWS_REGION", env.str("AWS_DEFAULT_REGION", proxy.DefaultRegion)),
		Concurrency:      env.integer("AWS_MCP_CONCURRENCY", proxy.DefaultConcurrency),
		Timeout:          env.duration("AWS_MCP_TIMEOUT", proxy.DefaultTimeout),
		Profile:          env.str("AWS_PROFILE", ""),
		Org:              env.boolean("AWS_MCP_ORG", false),
		OrgTTL:           env.duration("AWS_MCP_ORG_TTL", 15*time.Minute),
		OrgRole:          env.str("AWS_MCP_ORG_ROLE", ""),
		ReadOnly:         env.boolean("AWS_MCP_READ_ONLY", false),
		SessionPolicyARN: env.str("AWS_MCP_SESSION_POLICY_ARN", ""),
		AllowWriteFanout: env.boolean("AWS_MCP_ALLOW_WRITE_FANOUT", false),
		MaxResponseBytes: env.size("AWS_MCP_MAX_RESPONSE_BYTES", upstream.DefaultMaxResponseBytes),
		LogFormat:        env.str("AWS_MCP_LOG_FORMAT", "text"),

		ResultBudget:     env.size("AWS_MCP_RESULT_BUDGET", results.DefaultBudget),
		ResultBudgetMax:  env.size("AWS_MCP_RESULT_BUDGET_MAX", results.DefaultBudgetMax),
		ResultStoreBytes: env.size("AWS_MCP_RESULT_STORE_BYTES", results.DefaultStoreBytes),
		ResultTTL:        env.duration("AWS_MCP_RESULT_TTL", results.DefaultTTL),
		ReplyWithin:      env.duration("AWS_MCP_REPLY_WITHIN", proxy.DefaultReplyWithin),
		ResultsBucket:    env.str("AWS_MCP_RESULTS_BUCKET", ""),
		ResultsPrefix:    env.str("AWS_MCP_RESULTS_PREFIX", "results/"),
		ResultsKMSKey:    env.str("AWS_MCP_RESULTS_KMS_KEY", ""),

		MaxConcurrency:    env.integer("AWS_MCP_MAX_CONCURRENCY", proxy.DefaultMaxConcurrency),
		DeniedTTL:         env.duration("AWS_MCP_DENIED_TTL", auth.DefaultDeniedTTL),
		AllowSecretFanout: env.boolean("AWS_MCP_ALLOW_SECRET_FANOUT", false),

		AccountRPS:         env.number("AWS_MCP_ACCOUNT_RPS", upstream.DefaultAccountRPS),
		AccountConcurrency: env.integer("AWS_MCP_ACCOUNT_CONCURRENCY", upstream.DefaultAccountConcurrency),

		HTTPAddr:       env.str("AWS_MCP_HTTP_ADDR", ""),
		OIDCIssuer:     env.str("AWS_MCP_OIDC_ISSUER", ""),
		OIDCAudience:   env.str("AWS_MCP_OIDC_AUDIENCE", ""),
		AccessPolicy:   env.str("AWS_MCP_ACCESS_POLICY", ""),
		SourceIdentity: env.str("AWS_MCP_SOURCE_IDENTITY", ""),
		CallerFanouts:  env.integer("AWS_MCP_CALLER_FANOUTS", 2),
		Drain:          env.duration("AWS_MCP_DRAIN", 20*time.Second),
		BodyTimeout:    env.duration("AWS_MCP_BODY_TIMEOUT", 30*time.Second),
		Stateless:      env.boolean("AWS_MCP_STATELESS", false),
		TLSCert:        env.str("AWS_MCP_TLS_CERT", ""),
		TLSKey:         env.str("AWS_MCP_TLS_KEY", ""),
		InsecureNoAuth: env.boolean("AWS_MCP_INSECURE_NO_AUTH", false),

		InvocationBudget: env.duration("AWS_MCP_INVOCATION_BUDGET", 28*time.Second),
		ResponseMargin:   env.duration("AWS_MCP_RESPONSE_MARGIN", 1500*time.Millisecond),
	}
	if lvl := env.str("AWS_MCP_LOG_LEVEL", ""); lvl != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(lvl)); err != nil && env.err == nil {
			env.err = fmt.Errorf("AWS_MCP_LOG_LEVEL=%q: want debug, info, warn or error", lvl)
		}
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "AWS MCP Server URL (env AWS_MCP_ENDPOINT); https only, except loopback")
	fs.StringVar(&cfg.AccountsFile, "accounts", cfg.AccountsFile, "JSON or YAML accounts file (env AWS_MCP_ACCOUNTS_FILE); TARGET_ACCOUNTS holds the same JSON inline")
	fs.StringVar(&cfg.RoleName, "role-name", cfg.RoleName, "role assumed in each member account (env TARGET_ROLE_NAME)")
	fs.StringVar(&cfg.ExternalID, "external-id", cfg.ExternalID, "ExternalId passed to AssumeRole (env TARGET_EXTERNAL_ID)")
	fs.StringVar(&cfg.SessionName, "session-name", cfg.SessionName, "RoleSessionName; {account} becomes the account id, {user} the local user name (CloudTrail attribution)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "default target region of a query, sent upstream as _meta.AWS_REGION (env AWS_REGION)")
	fs.StringVar(&cfg.SigningRegion, "signing-region", "", "SigV4 region of the endpoint (default: from the aws-mcp.<region>.api.aws host, else --region)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "accounts queried at once by query_all (env AWS_MCP_CONCURRENCY)")
	fs.Var(durationFlag{&cfg.Timeout}, "timeout", "per-account call timeout (env AWS_MCP_TIMEOUT)")
	fs.StringVar(&cfg.Profile, "profile", cfg.Profile, "AWS profile of the base (central) credentials (env AWS_PROFILE)")
	fs.BoolVar(&cfg.Org, "org", cfg.Org, "discover accounts from AWS Organizations (env AWS_MCP_ORG)")
	fs.Var(durationFlag{&cfg.OrgTTL}, "org-ttl", "how long discovered accounts are cached")
	fs.StringVar(&cfg.OrgRole, "org-role", cfg.OrgRole, "role ARN to read Organizations through (management or delegated-admin account)")
	fs.StringVar(&cfg.Profiles, "profiles", "", "glob of AWS config profiles; each is an account using that profile's own credentials")
	fs.Var(listFlag{&cfg.Exclude}, "exclude", "account ids or name globs left out of every source (comma-separated, repeatable)")
	fs.BoolVar(&cfg.ReadOnly, "read-only", cfg.ReadOnly, "pass a ReadOnlyAccess session policy on every AssumeRole and refuse write tools; scripts run bounded by it (env AWS_MCP_READ_ONLY)")
	fs.StringVar(&cfg.SessionPolicyARN, "session-policy-arn", cfg.SessionPolicyARN, "managed read-only session policy of --read-only and of fan-out sessions (default arn:<partition>:iam::aws:policy/ReadOnlyAccess; env AWS_MCP_SESSION_POLICY_ARN)")
	fs.BoolVar(&cfg.AllowWriteFanout, "allow-write-fanout", cfg.AllowWriteFanout, "let query_all fan out tools that are not read-only, and run scripts with the role's own permissions (env AWS_MCP_ALLOW_WRITE_FANOUT)")
	fs.Var(byteSizeFlag{&cfg.MaxResponseBytes}, "max-response-bytes", "largest upstream answer accepted per account (e.g. 10MiB)")
	fs.Var(logLevelFlag{&cfg.LogLevel}, "log-level", "debug, info, warn or error (env AWS_MCP_LOG_LEVEL); logs go to stderr")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (env AWS_MCP_LOG_FORMAT)")
	fs.Var(byteSizeFlag{&cfg.ResultBudget}, "result-budget", "byte budget of a tool result's text; what does not fit is kept for get_result (env AWS_MCP_RESULT_BUDGET)")
	fs.Var(byteSizeFlag{&cfg.ResultBudgetMax}, "result-budget-max", "the most a call's max_bytes may ask for (env AWS_MCP_RESULT_BUDGET_MAX)")
	fs.Var(byteSizeFlag{&cfg.ResultStoreBytes}, "result-store-bytes", "memory kept for stored results; the oldest go first (env AWS_MCP_RESULT_STORE_BYTES)")
	fs.Var(durationFlag{&cfg.ResultTTL}, "result-ttl", "how long stored results are kept (env AWS_MCP_RESULT_TTL)")
	fs.Var(durationFlag{&cfg.ReplyWithin}, "reply-within", "query_all answers by then with the accounts that finished; the rest stay pending in the background; 0 waits for all (env AWS_MCP_REPLY_WITHIN)")
	fs.StringVar(&cfg.ResultsBucket, "results-bucket", cfg.ResultsBucket, "S3 bucket that keeps full answers, so any process can serve get_result (env AWS_MCP_RESULTS_BUCKET)")
	fs.StringVar(&cfg.ResultsPrefix, "results-prefix", cfg.ResultsPrefix, "key prefix of stored results in the bucket (env AWS_MCP_RESULTS_PREFIX)")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", cfg.MaxConcurrency, "the most workers a fan-out grows to when its accounts would not answer before its deadline (env AWS_MCP_MAX_CONCURRENCY)")
	fs.Var(durationFlag{&cfg.DeniedTTL}, "denied-ttl", "how long an AccessDenied on AssumeRole is remembered before the role is tried again; 0 disables (env AWS_MCP_DENIED_TTL)")
	fs.BoolVar(&cfg.AllowSecretFanout, "allow-secret-fanout", cfg.AllowSecretFanout, "let query_all fan out reads whose answer is a secret: no inline deny on fan-out sessions (env AWS_MCP_ALLOW_SECRET_FANOUT)")
	fs.Float64Var(&cfg.AccountRPS, "account-rps", cfg.AccountRPS, "upstream requests a second per account, within the AWS MCP Server's quota (3 per account and Region); 0 is unpaced (env AWS_MCP_ACCOUNT_RPS)")
	fs.IntVar(&cfg.AccountConcurrency, "account-concurrency", cfg.AccountConcurrency, "upstream requests in flight per account; 0 is unbounded (env AWS_MCP_ACCOUNT_CONCURRENCY)")
	fs.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "serve: MCP Streamable HTTP at ADDR/mcp for a team instead of stdio, e.g. :8080 (env AWS_MCP_HTTP_ADDR)")
	fs.StringVar(&cfg.OIDCIssuer, "oidc-issuer", cfg.OIDCIssuer, "serve --http: OpenID provider whose bearer tokens are accepted (env AWS_MCP_OIDC_ISSUER)")
	fs.StringVar(&cfg.OIDCAudience, "oidc-audience", cfg.OIDCAudience, "serve --http: this server's resource URI, the audience tokens must be issued for (env AWS_MCP_OIDC_AUDIENCE)")
	fs.StringVar(&cfg.AccessPolicy, "access-policy", cfg.AccessPolicy, "serve --http: YAML or JSON file mapping token claims to the accounts each caller reaches (env AWS_MCP_ACCESS_POLICY)")
	fs.StringVar(&cfg.SourceIdentity, "source-identity", cfg.SourceIdentity, "serve --http: token claim passed as sts:SourceIdentity on every AssumeRole (env AWS_MCP_SOURCE_IDENTITY)")
	fs.IntVar(&cfg.CallerFanouts, "caller-fanouts", cfg.CallerFanouts, "serve --http: query_all fan-outs one caller may run at once (env AWS_MCP_CALLER_FANOUTS)")
	fs.Var(durationFlag{&cfg.Drain}, "drain", "serve --http: at SIGTERM, how long calls in flight may take to finish (env AWS_MCP_DRAIN)")
	fs.Var(durationFlag{&cfg.BodyTimeout}, "body-timeout", "serve --http: how long a request body may take to arrive; slower ones get 408 (env AWS_MCP_BODY_TIMEOUT)")
	fs.BoolVar(&cfg.Stateless, "stateless", cfg.Stateless, "serve --http: no server-side MCP sessions, so many processes serve any caller (env AWS_MCP_STATELESS)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "serve --http: TLS certificate file (env AWS_MCP_TLS_CERT); without it, put a TLS-terminating load balancer in front")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "serve --http: TLS key file (env AWS_MCP_TLS_KEY)")
	fs.BoolVar(&cfg.InsecureNoAuth, "insecure-no-auth", cfg.InsecureNoAuth, "serve --http: allow a non-loopback address without --oidc-issuer (anyone who reaches it uses the central credentials)")
	return fs, func() error { return env.err }
}

// Validate checks the configuration once flags are parsed.
func (c *Config) Validate() error {
	if err := upstream.ValidateEndpoint(c.Endpoint); err != nil {
		return err
	}
	if !accounts.ValidRegion(c.Region) {
		return fmt.Errorf("region %q is not a valid AWS region name", c.Region)
	}
	if c.SigningRegion != "" && !accounts.ValidRegion(c.SigningRegion) {
		return fmt.Errorf("signing region %q is not a valid AWS region name", c.SigningRegion)
	}
	if !accounts.ValidRoleName(c.RoleName) {
		return fmt.Errorf("role name %q is not a valid IAM role name", c.RoleName)
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		return fmt.Errorf("concurrency %d: want 1 to 1024", c.Concurrency)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("timeout %s: want a positive duration", c.Timeout)
	}
	if c.OrgTTL < 0 {
		return fmt.Errorf("org-ttl %s: want zero or more", c.OrgTTL)
	}
	if c.MaxResponseBytes <= 0 {
		return fmt.Errorf("max-response-bytes must be positive")
	}
	if c.ResultBudget < results.MinBudget {
		return fmt.Errorf("result budget %d: want at least %d bytes", c.ResultBudget, results.MinBudget)
	}
	if c.ResultBudgetMax < c.ResultBudget {
		return fmt.Errorf("result-budget-max %d is below the result budget %d", c.ResultBudgetMax, c.ResultBudget)
	}
	if c.ResultTTL <= 0 {
		return fmt.Errorf("result-ttl %s: want a positive duration", c.ResultTTL)
	}
	if c.ReplyWithin < 0 {
		return fmt.Errorf("reply-within %s: want zero or more", c.ReplyWithin)
	}
	if c.MaxConcurrency > 4096 {
		return fmt.Errorf("max-concurrency %d: want at most 4096", c.MaxConcurrency)
	}
	c.MaxConcurrency = max(c.MaxConcurrency, c.Concurrency)
	if c.AccountRPS < 0 || c.AccountRPS > 1000 {
		return fmt.Errorf("account-rps %g: want 0 (unpaced) to 1000", c.AccountRPS)
	}
	if c.AccountConcurrency < 0 || c.AccountConcurrency > 1024 {
		return fmt.Errorf("account-concurrency %d: want 0 (unbounded) to 1024", c.AccountConcurrency)
	}
	if c.DeniedTTL < 0 {
		return fmt.Errorf("denied-ttl %s: want zero or more", c.DeniedTTL)
	}
	if err := c.validateTeamServer(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log format %q: want text or json", c.LogFormat)
	}
	if c.AccountsFile == "" && c.TargetAccounts == "" && !c.Org && c.Profiles == "" {
		return errors.New("no accounts configured: give --accounts FILE (or AWS_MCP_ACCOUNTS_FILE), TARGET_ACCOUNTS, --org or --profiles GLOB")
	}
	return nil
}

// UpstreamSigningRegion is the SigV4 region of the endpoint.
func (c *Config) UpstreamSigningRegion() string {
	if c.SigningRegion != "" {
		return c.SigningRegion
	}
	return auth.SigningRegion(c.Endpoint, c.Region)
}

// ParseError marks a flag parsing failure as a usage error; -h stays
// flag.ErrHelp (exit 0).
func ParseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrConfig, err)
}

// ParseConfig reads flags (after the environment) and validates them.
func ParseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, []string, error) {
	var cfg Config
	fs, envErr := NewFlagSet(name, &cfg, getenv, out)
	if err := fs.Parse(args); err != nil {
		return cfg, nil, ParseError(err)
	}
	if err := envErr(); err != nil {
		return cfg, nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return cfg, fs.Args(), nil
}

// NewLogger returns the stderr logger of the configured level and format.
func NewLogger(w io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// validateTeamServer checks the flags of serve --http.
func (c *Config) validateTeamServer() error {
	if c.HTTPAddr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("--http %q: want host:port or :port (%v)", c.HTTPAddr, err)
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case c.CallerFanouts < 0:
		return fmt.Errorf("caller-fanouts %d: want zero (no bound) or more", c.CallerFanouts)
	case c.Drain <= 0:
		return fmt.Errorf("drain %s: want a positive duration", c.Drain)
	case c.BodyTimeout <= 0:
		return fmt.Errorf("body-timeout %s: want a positive duration", c.BodyTimeout)
	case c.OIDCIssuer == "" && (c.AccessPolicy != "" || c.SourceIdentity != ""):
		return errors.New("--access-policy and --source-identity need --oidc-issuer: without signed-in callers there are no claims to match")
	case c.OIDCIssuer == "" && !loopbackHost(host) && !c.InsecureNoAuth:
		return fmt.Errorf("--http %s listens beyond this machine without sign-in: give --oidc-issuer and --oidc-audience, bind a loopback address (127.0.0.1:8080), or accept the risk with --insecure-no-auth", c.HTTPAddr)
	case c.OIDCIssuer != "" && c.OIDCAudience == "":
		return errors.New("--oidc-issuer needs --oidc-audience: this server's resource URI, e.g. https://ops-mcp.example.com/mcp")
	}
	if c.OIDCIssuer != "" {
		for _, u := range []string{c.OIDCIssuer, c.OIDCAudience} {
			if err := upstream.ValidateEndpoint(u); err != nil {
				return fmt.Errorf("OIDC: %v", err)
			}
		}
	}
	return nil
}

// loopbackHost reports whether a listen host stays on this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
