package app

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/teamserver"
)

// TestHelpNamesEveryEnvironmentVariable: -h lists every setting's
// environment variables, beside its flag or among the settings only the
// environment sets.
func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var cfg Config
	fs, _ := NewFlagSet("test", &cfg, func(string) string { return "" }, &out)
	fs.Usage()
	for _, o := range options {
		for _, name := range o.env {
			if !strings.Contains(out.String(), name) {
				t.Errorf("-h does not name %s (option %q)", name, o.flag)
			}
		}
	}
}

// TestReadmeConfigurationTablesMatchTheOptions: the environment variables
// of README's configuration tables (Configuration, and Run it for your
// team) are exactly the options'.
func TestReadmeConfigurationTablesMatchTheOptions(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	row := regexp.MustCompile("^\\| (`--[a-z-]+`(?:, `--[a-z-]+`)*|—) \\| ([^|]+) \\|")
	variable := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	for _, line := range strings.Split(string(readme), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, v := range variable.FindAllStringSubmatch(m[2], -1) {
			documented = append(documented, v[1])
		}
	}
	var declared []string
	for _, o := range options {
		declared = append(declared, o.env...)
	}
	slices.Sort(documented)
	slices.Sort(declared)
	documented, declared = slices.Compact(documented), slices.Compact(declared)
	for _, v := range declared {
		if !slices.Contains(documented, v) {
			t.Errorf("README's configuration tables do not list %s", v)
		}
	}
	for _, v := range documented {
		if !slices.Contains(declared, v) {
			t.Errorf("README lists %s, which no option reads", v)
		}
	}
}

// TestOptionDefaultsAndEnvironment: with no environment the defaults are
// the packages' constants; the environment sets each kind of value; a bad
// value names the variable.
func TestOptionDefaultsAndEnvironment(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (Config, error) {
		var cfg Config
		_, envErr := NewFlagSet("test", &cfg, func(k string) string { return env[k] }, &bytes.Buffer{})
		return cfg, envErr()
	}
	cfg, err := load(nil)
	if err != nil || cfg.Concurrency != proxy.DefaultConcurrency || cfg.Drain != teamserver.DefaultDrain ||
		cfg.CallerFanouts != proxy.DefaultCallerFanouts || cfg.InvocationBudget != DefaultInvocationBudget || cfg.Region != proxy.DefaultRegion {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = load(map[string]string{"AWS_DEFAULT_REGION": "eu-west-1", "AWS_MCP_CONCURRENCY": "7", "AWS_MCP_ORG": "true",
		"AWS_MCP_ACCOUNT_RPS": "1.5", "AWS_MCP_RESULT_BUDGET": "8KiB", "AWS_MCP_ORG_TTL": "90", "AWS_MCP_LOG_LEVEL": "debug"})
	if err != nil || cfg.Region != "eu-west-1" || cfg.Concurrency != 7 || !cfg.Org || cfg.AccountRPS != 1.5 ||
		cfg.ResultBudget != 8<<10 || cfg.OrgTTL != 90*time.Second || cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("from the environment: %+v, %v", cfg, err)
	}
	if cfg, _ := load(map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1"}); cfg.Region != "us-west-2" {
		t.Errorf("AWS_REGION does not win over AWS_DEFAULT_REGION: %s", cfg.Region)
	}
	tests := []struct{ name, value, want string }{
		{"AWS_MCP_CONCURRENCY", "many", `AWS_MCP_CONCURRENCY="many": want a whole number`},
		{"AWS_MCP_ORG", "yes please", `AWS_MCP_ORG="yes please": want true or false`},
		{"AWS_MCP_RESULT_BUDGET", "-1", `AWS_MCP_RESULT_BUDGET="-1": want a positive size such as 10MiB`},
		{"AWS_MCP_LOG_LEVEL", "loud", `AWS_MCP_LOG_LEVEL="loud": want debug, info, warn or error`},
		{"AWS_MCP_ACCOUNT_RPS", "fast", `AWS_MCP_ACCOUNT_RPS="fast": want a number`},
	}
	for _, tt := range tests {
		if _, err := load(map[string]string{tt.name: tt.value}); err == nil || err.Error() != tt.want {
			t.Errorf("%s=%s: %v, want %s", tt.name, tt.value, err, tt.want)
		}
	}
}

// TestAgentCoreRuntimePreset: --agentcore-runtime listens where the
// Runtime expects, stateless, with JSON logs; --http still wins; trusting
// the Runtime's user id needs the preset and excludes OIDC.
func TestAgentCoreRuntimePreset(t *testing.T) {
	t.Parallel()
	parse := func(args ...string) (Config, error) {
		cfg, _, err := ParseConfig("test", append([]string{"--accounts", "accounts.json"}, args...), func(string) string { return "" }, &bytes.Buffer{})
		return cfg, err
	}
	cfg, err := parse("--agentcore-runtime", "--trust-runtime-user-id")
	if err != nil || cfg.HTTPAddr != "0.0.0.0:8000" || !cfg.Stateless || cfg.LogFormat != "json" {
		t.Errorf("preset: %v, http %q, stateless %v, log format %q", err, cfg.HTTPAddr, cfg.Stateless, cfg.LogFormat)
	}
	if cfg, err := parse("--agentcore-runtime", "--trust-runtime-user-id", "--http", "127.0.0.1:0"); err != nil || cfg.HTTPAddr != "127.0.0.1:0" {
		t.Errorf("--http with the preset: %v, %q", err, cfg.HTTPAddr)
	}
	for _, args := range [][]string{
		{"--http", "127.0.0.1:0", "--trust-runtime-user-id"},
		{"--agentcore-runtime", "--trust-runtime-user-id", "--oidc-issuer", "https://idp.example.com", "--oidc-audience", "https://mcp.example.com/mcp"},
		{"--agentcore-runtime"}, // 0.0.0.0 and no sign-in at all
	} {
		if _, err := parse(args...); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestIdentityCenterOptions: the role lists default to read-only permission
// sets, a flag's list replaces the default (it does not add to it), the
// environment sets them too, and a team server refuses --sso-session.
func TestIdentityCenterOptions(t *testing.T) {
	t.Parallel()
	parse := func(env map[string]string, args ...string) (Config, error) {
		cfg, _, err := ParseConfig("test", args, func(k string) string { return env[k] }, &bytes.Buffer{})
		return cfg, err
	}
	cfg, err := parse(nil, "--sso-session", "corp")
	if err != nil || cfg.SSOSession != "corp" || strings.Join(cfg.SSORoles, ",") != "ReadOnlyAccess,ViewOnlyAccess,SecurityAudit,ReadOnly*,ViewOnly*,*ReadOnly*" {
		t.Errorf("defaults: %v, %q %v", err, cfg.SSOSession, cfg.SSORoles)
	}
	if cfg, _ := parse(nil, "--sso-session", "corp", "--sso-role", "AdministratorAccess", "--sso-role", "ReadOnly*"); strings.Join(cfg.SSORoles, ",") != "AdministratorAccess,ReadOnly*" {
		t.Errorf("--sso-role twice: %v, want exactly the two given", cfg.SSORoles)
	}
	if cfg, _ := parse(map[string]string{"AWS_MCP_SSO_SESSION": "corp", "AWS_MCP_SSO_ROLES": "Ops, ReadOnlyAccess"}); cfg.SSOSession != "corp" || strings.Join(cfg.SSORoles, ",") != "Ops,ReadOnlyAccess" {
		t.Errorf("from the environment: %q %v", cfg.SSOSession, cfg.SSORoles)
	}
	if _, err := parse(nil, "--sso-session", "corp", "--http", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "team server") {
		t.Errorf("a team server with --sso-session: %v", err)
	}
}

// TestMCPRegion: --mcp-region picks the regional endpoint and its signing
// region; an unknown one, or one beside --endpoint, stops the program.
func TestMCPRegion(t *testing.T) {
	t.Parallel()
	parse := func(args ...string) (Config, error) {
		cfg, _, err := ParseConfig("test", append([]string{"--accounts", "accounts.json"}, args...), func(string) string { return "" }, &bytes.Buffer{})
		return cfg, err
	}
	cfg, err := parse("--mcp-region", "eu-central-1", "--region", "us-west-2")
	if err != nil || cfg.Endpoint != "https://aws-mcp.eu-central-1.api.aws/mcp" || cfg.UpstreamSigningRegion() != "eu-central-1" || cfg.Region != "us-west-2" {
		t.Errorf("eu-central-1: %v, endpoint %s signed for %s, target region %s", err, cfg.Endpoint, cfg.UpstreamSigningRegion(), cfg.Region)
	}
	for _, args := range [][]string{{"--mcp-region", "eu-south-1"}, {"--mcp-region", "eu-west-1", "--endpoint", "https://example.com/mcp"}} {
		if _, err := parse(args...); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	if _, err := parse("--mcp-region", "eu-south-1"); err == nil || !strings.Contains(err.Error(), "ap-northeast-1") {
		t.Errorf("an unknown Region does not name the list: %v", err)
	}
}

// TestUnfilledBundlePlaceholdersAreUnset: an MCP Bundle host that leaves
// "${user_config.x}" in place for a setting the person left empty does
// not set that option.
func TestUnfilledBundlePlaceholdersAreUnset(t *testing.T) {
	env := map[string]string{"AWS_MCP_ACCOUNTS_FILE": "${user_config.accounts_file}", "AWS_MCP_SSO_SESSION": "corp", "TARGET_ROLE_NAME": "${user_config.role_name}"}
	cfg, _, err := ParseConfig("test", nil, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccountsFile != "" || cfg.SSOSession != "corp" || cfg.RoleName != "CentralOpsTargetRole" {
		t.Errorf("accounts file %q, sso session %q, role %q", cfg.AccountsFile, cfg.SSOSession, cfg.RoleName)
	}
}

// TestSettingNames: the proxy names a setting by its flag name, and the
// front door says how the user sets it: flag and variable on the command
// line (-h gives its variable), the variable in the Lambda bridge. Every name the proxy
// asks for is a setting in both.
func TestSettingNames(t *testing.T) {
	t.Parallel()
	cli, lambda := settingNames(false), settingNames(true)
	for _, c := range []struct{ name, cli, lambda string }{
		{"timeout", "--timeout", "AWS_MCP_TIMEOUT"},
		{"session-name", "--session-name", ""},
		{"no-such-setting", "", ""},
	} {
		if got := cli(c.name); got != c.cli {
			t.Errorf("command line %q: %q, want %q", c.name, got, c.cli)
		}
		if got := lambda(c.name); got != c.lambda {
			t.Errorf("Lambda %q: %q, want %q", c.name, got, c.lambda)
		}
	}
	// The names proxy's texts ask for (grep 'setting("' proxy).
	for _, name := range []string{"read-only", "allow-changes", "allow-secret-fanout", "allow-write-fanout",
		"result-budget-max", "timeout", "caller-fanouts", "sso-read-only-roles", "sso-role", "org"} {
		if cli(name) == "" || lambda(name) == "" {
			t.Errorf("%q: %q on the command line, %q in Lambda; want both", name, cli(name), lambda(name))
		}
	}
}
