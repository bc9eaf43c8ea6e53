package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakelambda"
)

// Binaries are the programs the process-level measurements run.
type Binaries struct {
	// Server is the stdio server (go build .).
	Server string
	// Bootstrap is the Lambda build (go build -tags lambda .).
	Bootstrap string
	// FakeServer runs the fakes in a process of their own.
	FakeServer string
}

// ModuleRoot returns the directory of the module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

// Build builds the binaries into dir, as a release would (go build).
func Build(dir string) (*Binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	b := &Binaries{
		Server:     filepath.Join(dir, "aws-mcp-multi-account"),
		Bootstrap:  filepath.Join(dir, "bootstrap"),
		FakeServer: filepath.Join(dir, "fakeserver"),
	}
	for _, args := range [][]string{
		{"build", "-o", b.Server, "."},
		{"build", "-tags", "lambda", "-o", b.Bootstrap, "."},
		{"build", "-o", b.FakeServer, "./bench/fakeserver"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return b, nil
}

// accountsEnv configures the fakes' accounts through TARGET_ACCOUNTS.
func accountsEnv(accts []fakeaws.Account) string {
	data, _ := json.Marshal(accts)
	return "TARGET_ACCOUNTS=" + string(data)
}

// StartupResult is one start of the stdio server.
type StartupResult struct {
	// ToolsListMS is process start to the first tools/list answer.
	ToolsListMS float64 `json:"tools_list_ms"`
	// IdleRSSMiB is the server's RSS 200 ms after that answer.
	IdleRSSMiB float64 `json:"idle_rss_mib"`
}

// MeasureStartup starts the stdio server against the fakes' accounts, and
// times process start → initialize → first tools/list answer.
func MeasureStartup(ctx context.Context, binary string, fakes Fakes) (*StartupResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := StartStdio(ctx, binary, append(fakes.URLs().Env, accountsEnv(fakes.Accounts())))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	tools, err := srv.Client.ListTools(ctx, mcpListTools())
	if err != nil {
		return nil, fmt.Errorf("tools/list: %w", err)
	}
	took := time.Since(srv.Started)
	if len(tools.Tools) == 0 {
		return nil, fmt.Errorf("tools/list answered no tools")
	}
	time.Sleep(200 * time.Millisecond)
	rss, _, err := ProcStatus(srv.Pid())
	if err != nil {
		return nil, err
	}
	return &StartupResult{ToolsListMS: ms(took), IdleRSSMiB: MiB(rss)}, nil
}

// MeasureLambdaFirstPoll starts the Lambda build against a fake Runtime API
// and returns the time from process start to its first
// /runtime/invocation/next poll.
func MeasureLambdaFirstPoll(ctx context.Context, bootstrap string, fakes Fakes) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rt := fakelambda.Start()
	defer rt.Close()
	cmd := exec.Command(bootstrap)
	cmd.Env = append(append(os.Environ(), fakes.URLs().Env...), accountsEnv(fakes.Accounts()),
		"AWS_LAMBDA_RUNTIME_API="+rt.Addr(), "AWS_LAMBDA_FUNCTION_NAME=aws-mcp-bridge",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	polled, err := rt.FirstPoll(ctx)
	if err != nil {
		return 0, fmt.Errorf("no poll of the Runtime API: %w", err)
	}
	return polled.Sub(start), nil
}

// OrgSizeFor returns the size to pass to fakeaws.GenerateOrg for an
// organization with exactly active ACTIVE accounts.
func OrgSizeFor(active int) int {
	for n := active; ; n++ {
		if countActive(fakeaws.GenerateOrg(n)) == active {
			return n
		}
	}
}

func countActive(org []fakeaws.OrgAccount) int {
	n := 0
	for _, a := range org {
		if a.State == "ACTIVE" {
			n++
		}
	}
	return n
}

// OrgResult is one Organizations discovery through the stdio server.
type OrgResult struct {
	// MS is process start to the complete list_accounts answer.
	MS float64 `json:"ms"`
	// Accounts is how many accounts list_accounts returned.
	Accounts int `json:"accounts"`
	// OrgCalls is how many Organizations API calls the discovery made.
	OrgCalls int `json:"org_calls"`
}

// MeasureOrgDiscovery starts the stdio server with AWS_MCP_ORG=true and
// times process start → list_accounts answer.
func MeasureOrgDiscovery(ctx context.Context, binary string, fakes Fakes) (*OrgResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	before, err := fakes.Stats()
	if err != nil {
		return nil, err
	}
	srv, err := StartStdio(ctx, binary, append(fakes.URLs().Env, "AWS_MCP_ORG=true"))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	res, err := srv.Call(ctx, "list_accounts", map[string]any{})
	if err != nil {
		return nil, err
	}
	took := time.Since(srv.Started)
	var list struct {
		Count int `json:"count"`
	}
	raw := res.RawStructuredContent
	if len(raw) == 0 {
		raw, _ = json.Marshal(res.StructuredContent)
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("list_accounts structuredContent: %w", err)
	}
	after, err := fakes.Stats()
	if err != nil {
		return nil, err
	}
	return &OrgResult{MS: ms(took), Accounts: list.Count, OrgCalls: after.OrgCalls - before.OrgCalls}, nil
}

func mcpListTools() mcp.ListToolsRequest { return mcp.ListToolsRequest{} }
