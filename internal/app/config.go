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
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// ErrConfig marks invalid configuration: exit code 2.
var ErrConfig = errors.New("invalid configuration")

// Config is everything the entrypoints read from flags and environment.
type Config struct {
	Endpoint       string
	AccountsFile   string
	TargetAccounts string
	RoleName       string
	ExternalID     string
	SessionName    string
	Region         string
	SigningRegion  string
	Concurrency    int
	Timeout        time.Duration
	Profile        string
	Org            bool
	OrgTTL         time.Duration
	OrgRole        string
	Profiles       string
	// MCPRegion picks the AWS MCP Server's endpoint (and signing) Region by
	// name; Endpoint is set from it.
	MCPRegion string
	// SSOSession names an [sso-session] of the AWS config file: every
	// account of that IAM Identity Center portal with one of SSORoles (globs,
	// in order of preference); SSOReadOnlyRoles are declared read-only.
	SSOSession       string
	SSORoles         []string
	SSOReadOnlyRoles []string
	Exclude          []string
	ReadOnly         bool
	SessionPolicyARN string
	AllowWriteFanout bool
	// AllowChanges offers change_all and apply_change (the stdio server
	// and the CLI; the team server's access policy grants them per caller).
	AllowChanges     bool
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
	MaxConcurrency int
	// MaxInFlight bounds the upstream calls of the whole process (shared
	// fairly among a team server's callers).
	MaxInFlight       int
	DeniedTTL         time.Duration
	AllowSecretFanout bool

	// Pacing of each account's upstream requests (its quota).
	AccountRPS         float64
	AccountConcurrency int

	// The team server (serve --http).
	HTTPAddr       string
	OIDCIssuer     string
	OIDCAudience   string
	OIDCClientIDs  []string
	OIDCScopes     []string
	AccessPolicy   string
	SourceIdentity string
	CallerFanouts  int
	Drain          time.Duration
	BodyTimeout    time.Duration
	Stateless      bool
	TLSCert        string
	TLSKey         string
	InsecureNoAuth bool
	// AgentCoreRuntime applies the AgentCore Runtime preset;
	// TrustRuntimeUserID takes callers from the Runtime's user id header.
	AgentCoreRuntime   bool
	TrustRuntimeUserID bool

	// The Lambda bridge (environment only): an invocation's cap, below the
	// gateway's own limit, and the time kept to encode its answer.
	InvocationBudget time.Duration
	ResponseMargin   time.Duration

	// getenv is the environment the configuration was read from (the SDK
	// settings the wiring looks at come from it too).
	getenv func(string) string
}

// env reads the environment the configuration came from.
func (c Config) env(name string) string {
	if c.getenv == nil {
		return ""
	}
	return c.getenv(name)
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
// from the environment (both from the option table, options.go).
// Environment errors are reported by the returned function, after parsing.
func NewFlagSet(name string, cfg *Config, getenv func(string) string, out io.Writer) (*flag.FlagSet, func() error) {
	env := &envReader{getenv: getenv}
	*cfg = Config{getenv: getenv}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	for _, o := range options {
		o.bind(cfg, env, fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\nConfiguration flags (every flag also reads the environment variable its help names):\n", name)
		PrintConfigFlags(fs.Output(), fs)
	}
	return fs, func() error { return env.err }
}

// Validate checks the configuration once flags are parsed (and applies
// the AgentCore Runtime preset).
func (c *Config) Validate() error {
	if c.AgentCoreRuntime {
		if c.HTTPAddr == "" {
			c.HTTPAddr = AgentCoreRuntimeAddr
		}
		// A Runtime session is a microVM of its own: no process sees
		// another request of the session for sure.
		c.Stateless = true
		c.LogFormat = "json"
	}
	if c.MCPRegion != "" {
		if c.Endpoint != upstream.DefaultEndpoint {
			return fmt.Errorf("give either --mcp-region %s or --endpoint %s, not both", c.MCPRegion, c.Endpoint)
		}
		endpoint, err := upstream.RegionalEndpoint(c.MCPRegion)
		if err != nil {
			return fmt.Errorf("--mcp-region: %w", err)
		}
		c.Endpoint = endpoint
	}
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
	if c.Concurrency < 0 || c.Concurrency > 4096 {
		return fmt.Errorf("concurrency %d: want 0 (automatic: every target at once) to 4096", c.Concurrency)
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
	if c.MaxInFlight < 0 || c.MaxInFlight > 100000 {
		return fmt.Errorf("max-in-flight %d: want 0 (automatic) to 100000", c.MaxInFlight)
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
	if c.SSOSession != "" && c.HTTPAddr != "" {
		return errors.New("--sso-session is for one person's own accounts (the stdio server and the CLI): a team server has no person's IAM Identity Center token; give its callers roles through --accounts, --org or the access policy")
	}
	if c.AccountsFile == "" && c.TargetAccounts == "" && !c.Org && c.Profiles == "" && c.SSOSession == "" {
		return errors.New("no accounts configured: give --sso-session NAME (IAM Identity Center, after aws sso login), --accounts FILE (or AWS_MCP_ACCOUNTS_FILE), TARGET_ACCOUNTS, --org or --profiles GLOB")
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
	return fmt.Errorf("%w: %w", ErrConfig, err)
}

// ParseFlags parses a FlagSet of NewFlagSet (and a command's own flags on
// it) and reports the environment's errors: both as usage errors
// (ErrConfig), -h as flag.ErrHelp.
func ParseFlags(fs *flag.FlagSet, args []string, envErr func() error) error {
	if err := fs.Parse(args); err != nil {
		return ParseError(err)
	}
	if err := envErr(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// ParseConfig reads flags (after the environment) and validates them.
func ParseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, []string, error) {
	var cfg Config
	fs, envErr := NewFlagSet(name, &cfg, getenv, out)
	if err := ParseFlags(fs, args, envErr); err != nil {
		return cfg, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("%w: %w", ErrConfig, err)
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
	case c.TrustRuntimeUserID && !c.AgentCoreRuntime:
		return errors.New("--trust-runtime-user-id needs --agentcore-runtime: only AgentCore Runtime sets the header it trusts")
	case c.TrustRuntimeUserID && c.OIDCIssuer != "":
		return errors.New("--trust-runtime-user-id and --oidc-issuer exclude each other: the caller comes from the Runtime's header (SigV4 inbound) or from the bearer token (JWT inbound)")
	case c.TrustRuntimeUserID && c.SourceIdentity != "":
		return errors.New("--source-identity needs --oidc-issuer: the Runtime's user id is the only claim with --trust-runtime-user-id")
	case c.OIDCIssuer == "" && !c.TrustRuntimeUserID && (c.AccessPolicy != "" || c.SourceIdentity != ""):
		return errors.New("--access-policy and --source-identity need --oidc-issuer: without signed-in callers there are no claims to match")
	case c.OIDCIssuer == "" && (len(c.OIDCClientIDs) > 0 || len(c.OIDCScopes) > 0):
		return errors.New("--oidc-client-id and --oidc-scope need --oidc-issuer")
	case c.OIDCIssuer == "" && !c.TrustRuntimeUserID && !loopbackHost(host) && !c.InsecureNoAuth:
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
