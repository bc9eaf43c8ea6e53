package infrastructure

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// deployScript is examples/deploy.sh, relative to this package.
const deployScript = "../deploy.sh"

// TestDeployScriptSyntax checks deploy.sh with bash -n and, where installed,
// shellcheck (CI installs it: apt-get install -y shellcheck).
func TestDeployScriptSyntax(t *testing.T) {
	t.Parallel()
	bash := lookPath(t, "bash")
	if out, err := exec.Command(bash, "-n", deployScript).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", deployScript, err, out)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not on PATH (apt-get install -y shellcheck); only bash -n ran")
	}
	scripts := []string{deployScript, "spec/regenerate.sh"}
	if out, err := exec.Command(shellcheck, scripts...).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck %v: %v\n%s", scripts, err, out)
	}
}

// TestDeployScriptDryRun runs deploy.sh --dry-run with every setting in the
// environment and checks what it would do: nothing runs (stand-ins for aws,
// go and zip record any call), the stacks come in dependency order, and each
// --parameter-overrides key is a parameter of the template it is passed to,
// with every parameter that has no default given.
func TestDeployScriptDryRun(t *testing.T) {
	t.Parallel()
	bash := lookPath(t, "bash")
	stubs := t.TempDir()
	calls := filepath.Join(stubs, "calls")
	for _, tool := range []string{"aws", "go", "zip"} {
		stub := fmt.Sprintf("#!/bin/sh\necho %s \"$@\" >> %q\nexit 1\n", tool, calls)
		if err := os.WriteFile(filepath.Join(stubs, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const accounts = `[{"id":"222222222222","name":"Production"},{"id":"333333333333","name":"Staging"}]`
	cmd := exec.Command(bash, deployScript, "--dry-run")
	cmd.Env = []string{
		"PATH=" + stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_REGION=eu-west-1",
		"STACK_PREFIX=test-ops",
		"ARTIFACT_BUCKET=artifacts-bucket",
		"ORGANIZATION_ID=o-abcdef1234",
		"TARGET_ACCOUNTS=" + accounts,
		"TARGET_EXTERNAL_ID=ext-123",
		"DEPLOY_RUNTIME=yes",
		"RUNTIME_IMAGE_URI=123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-mcp:1",
		"DEPLOY_MEMBER_ROLES=yes",
		"MEMBER_ROLE_OUS=ou-ab12-11111111,ou-ab12-22222222",
		"STACKSET_PROFILE=management",
	}
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("deploy.sh --dry-run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if data, err := os.ReadFile(calls); err == nil {
		t.Errorf("a dry run ran commands:\n%s", data)
	}

	var deployed []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		args, ok := strings.CutPrefix(line, "+ ")
		if !ok {
			continue
		}
		words, err := unquoteWords(args)
		if err != nil {
			t.Fatalf("%v in %q", err, line)
		}
		if !isDeploy(words) {
			continue
		}
		template, overrides := deployArgs(words)
		deployed = append(deployed, filepath.Base(template))
		checkOverrides(t, template, overrides)
		if got, ok := overrides["TargetAccounts"]; ok && got != accounts {
			t.Errorf("TargetAccounts passed as %q, want %q", got, accounts)
		}
	}
	want := []string{"cognito.yaml", "bridge-lambda.yaml", "agentcore-runtime.yaml", "gateway.yaml", "stackset.yaml"}
	if strings.Join(deployed, " ") != strings.Join(want, " ") {
		t.Errorf("deployed %v, want %v in that order\nstdout:\n%s", deployed, want, stdout.String())
	}
	for _, s := range []string{"Gateway URL:", "client_credentials", "--profile management", "Team server on AgentCore Runtime:"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("dry-run output does not mention %q", s)
		}
	}
}

// checkOverrides checks the parameters passed to a template.
func checkOverrides(t *testing.T, template string, overrides map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../..", template))
	if err != nil {
		t.Fatalf("deploy.sh deploys %s: %v", template, err)
	}
	root, err := parseTemplate(data)
	if err != nil {
		t.Fatalf("%s: %v", template, err)
	}
	params := mappingValue(root, "Parameters")
	for key := range overrides {
		if mappingValue(params, key) == nil {
			t.Errorf("deploy.sh passes %s to %s, which has no such parameter", key, template)
		}
	}
	for i := 0; params != nil && i < len(params.Content); i += 2 {
		name := params.Content[i].Value
		if _, given := overrides[name]; !given && mappingValue(params.Content[i+1], "Default") == nil {
			t.Errorf("deploy.sh does not pass %s to %s, which has no default", name, template)
		}
	}
}

// isDeploy reports whether words are an aws cloudformation deploy command
// (with any global options such as --profile before the service).
func isDeploy(words []string) bool {
	if len(words) == 0 || words[0] != "aws" {
		return false
	}
	joined := " " + strings.Join(words, " ") + " "
	return strings.Contains(joined, " cloudformation deploy ")
}

// deployArgs returns the --template-file and the --parameter-overrides
// key=value pairs of a deploy command.
func deployArgs(words []string) (template string, overrides map[string]string) {
	overrides = map[string]string{}
	for i := 0; i < len(words); i++ {
		switch words[i] {
		case "--template-file":
			if i+1 < len(words) {
				template = words[i+1]
			}
		case "--parameter-overrides":
			for i+1 < len(words) && !strings.HasPrefix(words[i+1], "--") {
				i++
				k, v, _ := strings.Cut(words[i], "=")
				overrides[k] = v
			}
		}
	}
	return template, overrides
}

// unquoteWords splits a line printed with bash's printf %q into words:
// backslash escapes, and two single quotes for the empty word, are all %q
// produces for the arguments deploy.sh prints.
func unquoteWords(line string) ([]string, error) {
	var words []string
	for _, w := range strings.Fields(strings.ReplaceAll(line, `\ `, "\x00")) {
		if strings.HasPrefix(w, "$'") {
			return nil, fmt.Errorf("unsupported $'...' quoting %s", w)
		}
		if w == "''" {
			words = append(words, "")
			continue
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			switch {
			case w[i] == 0:
				b.WriteByte(' ')
			case w[i] == '\\' && i+1 < len(w):
				i++
				b.WriteByte(w[i])
			default:
				b.WriteByte(w[i])
			}
		}
		words = append(words, b.String())
	}
	return words, nil
}

// lookPath finds a program or skips the test.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not on PATH", name)
	}
	return p
}
