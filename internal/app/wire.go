package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// App is the wired core: everything the entrypoints share.
type App struct {
	Config      Config
	Base        aws.Config // the SDK configuration of the central principal
	STS         *sts.Client
	Directory   *accounts.Directory
	Credentials *proxy.AccountCredentials
	Pool        *upstream.Pool
	Service     *proxy.Service
	Log         *slog.Logger
	Store       results.Store // nil when answers are not kept
	SSO         *SSO          // nil without --sso-session

	// memory is the soft memory limit BoundMemory sets, told of every
	// upstream call in flight.
	memory *memoryLimit
}

// Wiring is how an entrypoint, a test or a benchmark adjusts the wiring:
// it points the AWS SDK at in-process fakes through the SDK's own options
// (base configuration, STS and S3 endpoints), never around the SDK.
type Wiring struct {
	// Base replaces the SDK's default configuration chain when set.
	Base        *aws.Config
	STSEndpoint string
	// KeepNone, when set, keeps no answers in memory (unless a results
	// bucket is configured) and says why: the Lambda bridge, whose next
	// invocation may run elsewhere, and the one-shot CLI.
	KeepNone string
	// S3Endpoint points the results bucket's client at a fake (the demo).
	S3Endpoint string
	// Fresh asks STS every time, remembering no AccessDenied (doctor).
	Fresh bool
	// SSOEndpoint points the IAM Identity Center portal's and SSO OIDC's
	// clients at a fake (the demo).
	SSOEndpoint string
	// EnvOnly says the settings come from the environment alone (the
	// Lambda bridge, the Gateway's tool schema): texts name a setting by
	// its environment variable, not its flag.
	EnvOnly bool
	// UpstreamTransport, when set, carries the upstream requests instead
	// of a transport sized from the configuration (benchmarks count its
	// connections and close its idle ones).
	UpstreamTransport *http.Transport
}

// Build wires the core from configuration. It makes no network call.
func Build(ctx context.Context, cfg Config, log *slog.Logger, w Wiring) (*App, error) {
	if cfg.AllowChanges && cfg.ReadOnly {
		log.Warn("--allow-changes is ignored: read-only mode (--read-only) never offers changes")
	}
	base, err := loadBaseConfig(ctx, cfg, w)
	if err != nil {
		return nil, err
	}
	if base.Region == "" {
		base.Region = cfg.Region
	}
	// STS, Organizations and S3 requests say who is calling
	// ("app/aws-mcp-multi-account_<version>" in their User-Agent).
	base.AppID = buildinfo.Program + "_" + buildinfo.Version()
	stsClient := sts.NewFromConfig(base, func(o *sts.Options) {
		// A cold fan-out is one AssumeRole per account; ride out STS
		// throttling with a few more attempts than the SDK's default 3.
		o.RetryMaxAttempts = 5
		o.HTTPClient = sizedHTTPClient(o.HTTPClient, auth.DefaultMaxAssumeRoles)
		if w.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(w.STSEndpoint)
		}
	})

	partition := partitionOf(base.Region)
	profiles := auth.NewProfileStore(func(ctx context.Context, profile string) (aws.CredentialsProvider, error) {
		pc, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithSharedConfigProfile(profile))
		if err != nil {
			return nil, err
		}
		return pc.Credentials, nil
	})
	sources, err := extraSources(cfg, base, stsClient, profiles, partition, log)
	if err != nil {
		return nil, err
	}
	var identityCenter *SSO
	if cfg.SSOSession != "" {
		if identityCenter, err = wireSSO(ctx, cfg, base, w.SSOEndpoint, log); err != nil {
			return nil, err
		}
		sources = append(sources, identityCenter.Source)
	}
	dir, err := buildDirectory(cfg, log, sources...)
	if err != nil {
		return nil, err
	}

	store := auth.NewStore(stsClient, func(o *auth.Options) {
		o.Partition = partition
		o.RoleName = cfg.RoleName
		o.ExternalID = cfg.ExternalID
		// {caller} is the signed-in caller of a team server (who gets a
		// template of its own); without one, the local user.
		o.SessionName = strings.NewReplacer("{user}", LocalUser(), "{caller}", LocalUser()).Replace(cfg.SessionName)
		o.DeniedTTL = cfg.DeniedTTL
		readOnlyPolicy := cfg.SessionPolicyARN
		if readOnlyPolicy == "" {
			readOnlyPolicy = "arn:" + partition + ":iam::aws:policy/ReadOnlyAccess"
		}
		o.ReadOnlyPolicyARNs = []string{readOnlyPolicy}
		if cfg.ReadOnly {
			o.PolicyARNs = []string{readOnlyPolicy}
		}
	})
	creds := &proxy.AccountCredentials{Roles: store, Profiles: profiles}
	if identityCenter != nil {
		creds.SSO = identityCenter.Store
	}

	memory := &memoryLimit{}
	pool, err := upstream.NewPool(upstream.Options{
		InFlight:           memory.add,
		Endpoint:           cfg.Endpoint,
		SigningRegion:      cfg.UpstreamSigningRegion(),
		MaxResponseBytes:   cfg.MaxResponseBytes,
		Transport:          upstreamTransport(cfg, base, w),
		MaxInFlight:        max(cfg.maxInFlight(), cfg.Concurrency),
		AccountRPS:         cfg.AccountRPS,
		AccountConcurrency: cfg.AccountConcurrency,
		Logger:             log,
		ClientInfo:         mcp.Implementation{Name: "aws-mcp-multi-account", Version: buildinfo.Version()},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	svc := proxy.New(ServiceConfig(cfg, w), dir, creds, pool, log)
	kept := resultStore(cfg, base, w)
	if kept != nil {
		svc.SetStore(kept)
	}
	return &App{Config: cfg, Base: base, STS: stsClient, Directory: dir, Credentials: creds, Pool: pool, Service: svc, Log: log, Store: kept, SSO: identityCenter, memory: memory}, nil
}

// resultStore keeps full answers for get_result: in an S3 bucket when one
// is configured (any process can then read them), else in this process's
// memory, unless the entrypoint keeps none (the Lambda bridge without a
// bucket: a later invocation may run in another container).
func resultStore(cfg Config, base aws.Config, w Wiring) results.Store {
	if cfg.ResultsBucket != "" {
		return newS3Store(cfg, base, w)
	}
	if w.KeepNone != "" {
		return nil
	}
	return results.NewMemory(cfg.ResultStoreBytes, cfg.ResultTTL)
}

// loadBaseConfig loads the central credentials and region through the SDK's
// default chain (env, profile, SSO, IMDS, Lambda role).
func loadBaseConfig(ctx context.Context, cfg Config, w Wiring) (aws.Config, error) {
	if w.Base != nil {
		return w.Base.Copy(), nil
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	base, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w: load AWS configuration: %w", ErrConfig, err)
	}
	return base, nil
}

// buildDirectory combines the configured account sources: the file and
// TARGET_ACCOUNTS first, then extra (profiles, Organizations).
func buildDirectory(cfg Config, log *slog.Logger, extra ...accounts.Source) (*accounts.Directory, error) {
	var sources []accounts.Source
	if cfg.AccountsFile != "" {
		accts, warnings, err := accounts.ReadFile(cfg.AccountsFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		for _, w := range warnings {
			log.Warn("accounts file: "+w, "file", cfg.AccountsFile)
		}
		sources = append(sources, accounts.Static(accts))
	}
	if cfg.TargetAccounts != "" {
		accts, warnings, err := accounts.ParseWithWarnings([]byte(cfg.TargetAccounts), accounts.SourceEnv)
		if err != nil {
			return nil, fmt.Errorf("%w: TARGET_ACCOUNTS: %w", ErrConfig, err)
		}
		for _, w := range warnings {
			log.Warn("TARGET_ACCOUNTS: " + w)
		}
		sources = append(sources, accounts.Static(accts))
	}
	if len(sources) == 2 {
		// The first source wins; say once which accounts were in both.
		for _, w := range accounts.Overlaps(sources[0].(accounts.Static), sources[1].(accounts.Static)) {
			log.Warn(w)
		}
	}
	dir, err := accounts.NewDirectory(cfg.Exclude, append(sources, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return dir, nil
}

// extraSources builds the discovering sources: local profiles (--profiles)
// and AWS Organizations (--org, optionally through --org-role).
func extraSources(cfg Config, base aws.Config, stsClient *sts.Client, profiles *auth.ProfileStore, partition string, log *slog.Logger) ([]accounts.Source, error) {
	var out []accounts.Source
	if cfg.Profiles != "" {
		configFile := cfg.env("AWS_CONFIG_FILE")
		if configFile == "" {
			configFile = awsconfig.DefaultSharedConfigFilename()
		}
		src, err := accounts.NewProfileSource(cfg.Profiles, configFile, func(ctx context.Context, profile string) (string, error) {
			creds, err := profiles.ForProfile(ctx, profile)
			if err != nil {
				return "", err
			}
			client := sts.NewFromConfig(base, func(o *sts.Options) { o.Credentials = creds })
			out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return "", errors.New(auth.Describe(err))
			}
			return aws.ToString(out.Account), nil
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		out = append(out, src)
	}
	if cfg.Org {
		orgCfg := base.Copy()
		orgCfg.Region = organizationsRegion(partition)
		if cfg.OrgRole != "" {
			orgCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, cfg.OrgRole,
				func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "aws-mcp-multi-account-discovery" }))
		}
		out = append(out, accounts.NewOrgSource(organizations.NewFromConfig(orgCfg), cfg.OrgTTL, log))
	}
	return out, nil
}

// sizedHTTPClient keeps the SDK's HTTP client (AWS_CA_BUNDLE and proxy
// settings live in it) but lets it keep as many idle connections as a cold
// fan-out has AssumeRole calls in flight; the SDK's default of 10 means a
// new TLS handshake with STS for almost every account beyond the tenth.
func sizedHTTPClient(c aws.HTTPClient, concurrency int) aws.HTTPClient {
	bc, ok := c.(*awshttp.BuildableClient)
	if c == nil {
		bc, ok = awshttp.NewBuildableClient(), true
	}
	if !ok {
		return c
	}
	return bc.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, concurrency)
		t.MaxIdleConns = max(t.MaxIdleConns, 2*concurrency)
	})
}

// upstreamTransport is the Wiring's, or one sized for the fan-out bound
// that trusts what the SDK's clients trust: a custom CA bundle
// (AWS_CA_BUNDLE or a profile's ca_bundle, as the SDK resolved it into
// base) replaces the system roots for the upstream too, so one setting
// serves a TLS-inspecting proxy (and a benchmark's TLS fake) for STS and
// the AWS MCP Server alike.
func upstreamTransport(cfg Config, base aws.Config, w Wiring) *http.Transport {
	if w.UpstreamTransport != nil {
		return w.UpstreamTransport
	}
	// Idle connections kept per host: enough for a wide fan-out's next
	// round without a new handshake each (HTTP/2 needs few).
	t := upstream.NewTransport(min(max(cfg.Concurrency, cfg.MaxConcurrency, 64), 1024))
	if roots := customRoots(base.HTTPClient); roots != nil {
		t.TLSClientConfig.RootCAs = roots
	}
	return t
}

// customRoots returns the certificate pool an SDK HTTP client was given
// (config.resolveCustomCABundle sets it on the BuildableClient's
// transport), or nil when it trusts the system roots.
func customRoots(c aws.HTTPClient) *x509.CertPool {
	bc, ok := c.(*awshttp.BuildableClient)
	if !ok || bc == nil {
		return nil
	}
	if tls := bc.GetTransport().TLSClientConfig; tls != nil {
		return tls.RootCAs
	}
	return nil
}

// LocalUser names the person running the proxy, for RoleSessionName
// templates with {user} (CloudTrail attribution).
func LocalUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// organizationsRegion is where a partition's Organizations API lives.
func organizationsRegion(partition string) string {
	switch partition {
	case "aws-cn":
		return "cn-northwest-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	}
	return "us-east-1"
}

// partitionOf returns the ARN partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// close cancels background fan-outs and ends upstream sessions, waiting
// at most a second.
func (a *App) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.Service.Close(ctx)
	a.Pool.Close(ctx)
	if m, ok := a.Store.(*results.Memory); ok {
		m.Close()
	}
}

// SlogToLog adapts the logger for libraries that take a *log.Logger.
func SlogToLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelError)
}

// ServiceConfig is the part of the configuration the core service takes.
func ServiceConfig(cfg Config, w Wiring) proxy.Config {
	c := proxy.Config{
		DefaultRegion:     cfg.Region,
		Concurrency:       cfg.Concurrency,
		MaxConcurrency:    cfg.MaxConcurrency,
		Timeout:           cfg.Timeout,
		ReadOnly:          cfg.ReadOnly,
		AllowWriteFanout:  cfg.AllowWriteFanout,
		AllowSecretFanout: cfg.AllowSecretFanout,
		AllowChanges:      cfg.AllowChanges && !cfg.ReadOnly,
		// A stateless server cannot route an older client's answer to
		// elicitation/create back to the call that asked (mcp-go sends it
		// to a shared session); multi round-trip requests need no session.
		NoElicitation:   cfg.Stateless,
		LocalUser:       LocalUser(),
		CallerFanouts:   cfg.CallerFanouts,
		ResultBudget:    int(cfg.ResultBudget),
		ResultBudgetMax: int(cfg.ResultBudgetMax),
		ReplyWithin:     cfg.ReplyWithin,
		Settings:        settingNames(w.EnvOnly),
	}
	if w.KeepNone != "" && cfg.ResultsBucket == "" {
		c.NotKept = w.KeepNone
	}
	return c
}
