package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files in testdata/")

// runCLI runs the binary with args against the stack and returns stdout,
// stderr and the exit code.
func runCLI(t *testing.T, stack *fakeaws.Stack, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binaryPath, args...)
	cmd.Env = append(append(os.Environ(), stack.Env()...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// normalize removes what changes from run to run: ports, durations.
func normalize(stack *fakeaws.Stack, s string) string {
	s = strings.ReplaceAll(s, stack.MCPURL, "<MCP_URL>")
	s = strings.ReplaceAll(s, stack.STSURL, "<STS_URL>")
	s = regexp.MustCompile(`"duration_ms": \d+`).ReplaceAllString(s, `"duration_ms": 0`)
	s = regexp.MustCompile(`in [0-9.]+(ms|µs|s)`).ReplaceAllString(s, "in <T>")
	s = regexp.MustCompile(`regions?, [0-9.]+(ms|µs|s)\)`).ReplaceAllString(s, "regions, <T>)")
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:<PORT>")
	return s
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name)
	if *updateGolden {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test . -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test . -run %s -update to accept):\n--- got\n%s\n--- want\n%s", name, t.Name(), got, want)
	}
}

// cliStack is three accounts: good, denied, and one whose upstream
// connection is dropped.
func cliStack(t *testing.T) (*fakeaws.Stack, string) {
	t.Helper()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: []fakeaws.Account{
		{ID: "222222222222", Name: "prod-web"}, {ID: "333333333333", Name: "staging"}, {ID: "444444444444", Name: "legacy"},
	}})
	t.Cleanup(stack.Close)
	stack.STS.Deny("333333333333")
	stack.MCP.DropConnections("444444444444", true)
	file := filepath.Join(t.TempDir(), "accounts.json")
	os.WriteFile(file, []byte(`[
  {"id": "222222222222", "name": "prod-web", "ou_path": "Root/Workloads/Prod", "tags": {"env": "prod", "team": "web"}},
  {"id": "333333333333", "name": "staging", "tags": {"env": "staging"}},
  {"id": "444444444444", "name": "legacy", "regions": ["eu-west-1"]}
]`), 0o644)
	return stack, "AWS_MCP_ACCOUNTS_FILE=" + file
}

func TestAccountsCommand(t *testing.T) {
	t.Parallel()
	stack, accountsFile := cliStack(t)
	out, errOut, code := runCLI(t, stack, []string{accountsFile}, "accounts")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	goldenFile(t, "accounts.golden", out)
	out, _, code = runCLI(t, stack, []string{accountsFile}, "accounts", "--json")
	if code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("exit %d, output %s", code, out)
	}
	goldenFile(t, "accounts.json.golden", out)
	if stack.STS.AssumeRoleCount("") != 0 {
		t.Error("listing accounts assumed roles")
	}
}

func TestCallCommand(t *testing.T) {
	t.Parallel()
	stack, accountsFile := cliStack(t)
	env := []string{accountsFile, "AWS_MCP_TIMEOUT=5s"}

	out, errOut, code := runCLI(t, stack, env, "call", "--all", "--json", "aws___call_aws", "cli_command=aws sts get-caller-identity")
	if code != 1 {
		t.Errorf("exit %d with failed accounts, want 1; stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "2 of 3 failed") {
		t.Errorf("stderr lacks the failure summary: %s", errOut)
	}
	goldenFile(t, "call-all.json.golden", normalize(stack, out))

	out, errOut, code = runCLI(t, stack, env, "call", "--account", "222222222222", "aws___list_regions")
	if code != 0 || !strings.Contains(out, "us-west-2") {
		t.Errorf("single-account call: exit %d, out %q, err %q", code, out, errOut)
	}

	out, _, code = runCLI(t, stack, env, "call", "--all", "--select", "prod-*", "aws___call_aws", "cli_command=aws s3api list-buckets")
	if code != 0 || !strings.Contains(out, "222222222222") || strings.Contains(out, "333333333333") || strings.Contains(out, "\x1b[") {
		t.Errorf("selected call: exit %d, out %q", code, out)
	}

	// --budget prints what an MCP client would receive; --jmespath projects.
	out, _, _ = runCLI(t, stack, env, "call", "--all", "--budget", "2KiB", "--jmespath", "Arn", "aws___call_aws", "cli_command=aws sts get-caller-identity")
	if !strings.Contains(out, `"arn:aws:sts::222222222222:assumed-role/CentralOpsTargetRole/Bridge-222222222222"`) ||
		!strings.Contains(out, `jmespath \"Arn\"`) || !strings.Contains(out, `"error_code":"access_denied"`) || len(out) > 2<<10+1 {
		t.Errorf("budgeted, projected call: %q", out)
	}
	out, _, code = runCLI(t, stack, env, "call", "--account", "222222222222", "--jmespath", "Regions[0]", "aws___list_regions")
	if code != 0 || strings.TrimSpace(out) != `"us-east-1"` {
		t.Errorf("projected single-account call: exit %d, %q", code, out)
	}

	for _, bad := range [][]string{
		{"call", "--all", "--jmespath", "a[", "aws___list_regions"},
		{"call", "--all"},
		{"call", "aws___list_regions"},
		{"call", "--all", "--account", "222222222222", "aws___list_regions"},
		{"call", "--all", "aws___list_regions", "novalue"},
	} {
		if _, errOut, code := runCLI(t, stack, env, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage); stderr %s", bad, code, errOut)
		}
	}
}

func TestDoctorCommand(t *testing.T) {
	t.Parallel()
	stack, accountsFile := cliStack(t)
	out, errOut, code := runCLI(t, stack, []string{accountsFile, "AWS_MCP_TIMEOUT=5s"}, "doctor", "--json")
	if code != 1 {
		t.Errorf("exit %d, want 1 (problems found); stderr %s", code, errOut)
	}
	goldenFile(t, "doctor.json.golden", normalize(stack, out))
}

// TestDoctorFitsAScreen: over 25 accounts, one of them denying us, doctor
// prints one line per account with its name, the shared facts once and the
// denied role's fix under the table, within 45 lines, and exits 1.
func TestDoctorFitsAScreen(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 25)
	denied := stack.Accounts[7]
	stack.STS.Deny(denied.ID)
	out, errOut, code := runCLI(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "doctor")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 1 || len(lines) > 45 {
		t.Errorf("exit %d, %d lines (want 1 and at most 45); stderr %s\n%s", code, len(lines), errOut, out)
	}
	for _, a := range stack.Accounts {
		if !strings.Contains(out, a.ID+"  "+a.Name) {
			t.Errorf("account %s (%s) is not on a line of its own", a.ID, a.Name)
		}
	}
	if !strings.Contains(out, "fix: ") || !strings.Contains(out, denied.ID+" assume role") || !strings.Contains(out, "24 of 25 accounts ready") ||
		strings.Count(out, "aws___run_script") != 1 {
		t.Errorf("the failure, its fix, the summary or the tool list once is missing:\n%s", out)
	}
	t.Logf("doctor over 25 accounts, %d lines:\n%s", len(lines), out)
}

// TestDoctorNamesCauses checks that doctor names each cause with a fix.
func TestDoctorNamesCauses(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: []fakeaws.Account{{ID: "222222222222", Name: "a"}}})
	t.Cleanup(stack.Close)
	accounts := "TARGET_ACCOUNTS=" + stack.AccountsJSON()
	tests := []struct {
		name   string
		setup  func()
		env    []string
		detail string
		fix    string
	}{
		{
			name:   "no base credentials",
			env:    []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="},
			detail: "no base credentials found",
			fix:    "set AWS_PROFILE",
		},
		{
			name:   "AccessDenied on AssumeRole",
			setup:  func() { stack.STS.Deny("222222222222") },
			detail: "AccessDenied",
			fix:    "trust arn:aws:iam::111111111111:user/central-ops",
		},
		{
			name:   "wrong ExternalId",
			setup:  func() { stack.STS.RequireExternalID("222222222222", "right-one") },
			env:    []string{"TARGET_EXTERNAL_ID=wrong-one"},
			detail: "AccessDenied",
			fix:    "wrong ExternalId",
		},
		{
			name:   "upstream 403, bad signature",
			env:    []string{},
			detail: "upstream 403, bad signature",
			fix:    "signing region",
		},
		{
			name:   "upstream unreachable",
			env:    []string{"AWS_MCP_ENDPOINT=http://127.0.0.1:1/mcp"},
			detail: "unreachable",
			fix:    "check the endpoint URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack.STS.Allow("222222222222")
			stack.STS.RequireExternalID("222222222222", "")
			if tt.setup != nil {
				tt.setup()
			}
			args := []string{"doctor", "--json"}
			if tt.name == "upstream 403, bad signature" {
				args = append(args, "--signing-region", "us-west-2")
			}
			out, errOut, code := runCLI(t, stack, append([]string{accounts, "AWS_MCP_TIMEOUT=3s"}, tt.env...), args...)
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr %s", code, errOut)
			}
			var report doctorReport
			if err := json.Unmarshal([]byte(out), &report); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			found := false
			for _, c := range report.Checks {
				if !c.OK && strings.Contains(c.Detail, tt.detail) && strings.Contains(c.Fix, tt.fix) {
					found = true
				}
			}
			if !found {
				t.Errorf("no failed check with detail %q and fix %q:\n%s", tt.detail, tt.fix, out)
			}
		})
	}
	stack.STS.RequireExternalID("222222222222", "")
}

func TestDemoCommand(t *testing.T) {
	start := time.Now()
	cmd := exec.Command(binaryPath, "demo")
	cmd.Env = append(os.Environ(), "AWS_PROFILE=does-not-exist", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	elapsed := time.Since(start)
	out := stdout.String()
	rows := regexp.MustCompile(`(?m)^[✓✗]\s+\d{12}\s`).FindAllString(out, -1)
	if len(rows) != 25 || !strings.Contains(out, "24 of 25 succeeded, 1 failed") {
		t.Errorf("demo printed %d account rows:\n%s", len(rows), out)
	}
	if !regexp.MustCompile(`(?m)^✗\s+\d{12}\s+security-audit .*AccessDenied`).MatchString(out) {
		t.Errorf("the denied account is not shown as an error:\n%s", out)
	}
	for _, slow := range []string{"legacy-erp", "analytics"} {
		if !regexp.MustCompile(`(?m)^✓\s+\d{12}\s+` + slow + `\s`).MatchString(out) {
			t.Errorf("slow account %s did not answer:\n%s", slow, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("ANSI codes on a non-terminal stdout")
	}
	// Every success row shows its answer (the script's return value,
	// summarised), never the script's envelope.
	answers := regexp.MustCompile(`(?m)^✓\s+\d{12}\s+\S+\s+us-east-1\s+\S+\s+\d+ buckets?: \S+-data-0-\d{12}`).FindAllString(out, -1)
	if len(answers) < 20 || strings.Contains(out, "api_call") {
		t.Errorf("%d success rows show bucket names (want at least 20), or a row shows the envelope:\n%s", len(answers), out)
	}
	// README's copy of the demo is the program's: its header lines and
	// every row it shows have the program's form.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)`go run \\. demo` starts.*?```\n(.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README has no block of the demo's output")
	}
	lines := strings.Split(string(block[1]), "\n")
	header := strings.SplitN(out, "\n", 4)
	if lines[0] != header[0] || lines[1] != header[1] {
		t.Errorf("README's demo block starts %q, the demo %q", lines[:2], header[:2])
	}
	row := regexp.MustCompile(`^[✓✗]  \d{12}  \S+\s+us-east-1  \S+\s+\S`)
	shown := 0
	for _, line := range lines {
		if strings.HasPrefix(line, "✓") || strings.HasPrefix(line, "✗") {
			shown++
			if !row.MatchString(line) || (strings.HasPrefix(line, "✓") && !strings.Contains(line, "bucket")) {
				t.Errorf("README's demo row is not the program's: %q", line)
			}
		}
	}
	if shown < 5 || !strings.Contains(string(block[1]), "24 of 25 succeeded, 1 failed in") {
		t.Errorf("README's demo block shows %d rows, or not the summary line", shown)
	}
	// Its slowest account answers in 2.2 s; five times that, and more, on a
	// loaded machine would still mean the demo does not wait on anything else.
	if elapsed > 20*time.Second {
		t.Errorf("demo took %s, want well under 20s", elapsed)
	}
}

// TestOverlappingSourcesWarn: an account in both the accounts file and
// TARGET_ACCOUNTS no longer stops the program: the file's entry wins, one
// warning line names the account, and list_accounts and doctor show it.
// An account twice in one source is still an error.
func TestOverlappingSourcesWarn(t *testing.T) {
	t.Parallel()
	stack, fileEnv := cliStack(t)
	env := []string{fileEnv, `TARGET_ACCOUNTS=[{"id":"333333333333","name":"from-env"},{"id":"555555555555","name":"env-only"}]`}
	want := "1 account is in both the accounts file and TARGET_ACCOUNTS; the entries of the accounts file are used: 333333333333"

	stdout, stderr, code := runCLI(t, stack, env, "accounts", "--json")
	if code != 0 || strings.Count(stderr, want) != 1 {
		t.Fatalf("accounts: exit %d, stderr %q; want exit 0 and one warning line", code, stderr)
	}
	var list struct {
		Accounts []struct{ ID, Name, Source string }
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || len(list.Accounts) != 4 || list.Accounts[1].Name != "staging" || list.Accounts[1].Source != "file" {
		t.Errorf("accounts: %s", stdout)
	}

	stdout, _, _ = runCLI(t, stack, env, "doctor", "--json")
	if !strings.Contains(stdout, want) {
		t.Errorf("doctor --json does not show the warning:\n%.600s", stdout)
	}

	p := startProxy(t, stack, env)
	res := p.call(t, "list_accounts", nil)
	var out struct{ Warnings []string }
	structured(t, res, &out)
	if len(out.Warnings) != 1 || out.Warnings[0] != want {
		t.Errorf("list_accounts warnings = %q", out.Warnings)
	}

	_, stderr, code = runCLI(t, stack, []string{`TARGET_ACCOUNTS=[{"id":"333333333333"},{"id":"333333333333"}]`}, "accounts")
	if code != 2 || !strings.Contains(stderr, "333333333333") {
		t.Errorf("a duplicate within TARGET_ACCOUNTS: exit %d, %q; want exit 2 naming it", code, stderr)
	}
}

// doctorReport is the doctor's --json answer, as a user's script reads it.
type doctorReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name    string `json:"name"`
		Account string `json:"account"`
		OK      bool   `json:"ok"`
		Detail  string `json:"detail"`
		Fix     string `json:"fix"`
	} `json:"checks"`
	Warnings []string `json:"warnings"`
}
