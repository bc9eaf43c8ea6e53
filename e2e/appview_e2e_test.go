package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy/view"
)

// TestAppViewInABrowser runs the MCP App view as a host runs it: Debian's
// headless Chromium (driven by playwright-core, ui/test/browser.mjs), a host
// page with the official AppBridge that puts the view in a sandboxed iframe
// under a strict CSP, a real query_all result from the team server binary,
// and the view's own tools/call forwarded to that server. 300 accounts (10
// denied, one held in the fake until the view has shown it pending, one
// with a hostile name), and a
// second server with 1,000 accounts × 3 Regions for the 3,000-target
// timing. Screenshots go to $AWS_MCP_VIEW_SHOTS (default: a temporary
// folder). It needs chromium and `npm ci --prefix ui`, which .ci/run
// installs; without them it is skipped, saying so.
func TestAppViewInABrowser(t *testing.T) {
	t.Parallel()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	ui, _ := filepath.Abs("../ui")
	_, errChromium := os.Stat(chromium)
	_, errNode := exec.LookPath("node")
	_, errDeps := os.Stat(filepath.Join(ui, "node_modules", "playwright-core"))
	if errChromium != nil || errNode != nil || errDeps != nil {
		t.Skipf("SKIPPED, the MCP App browser test: it needs Chromium at %s (apt-get install chromium, or CHROMIUM=path), node, and `npm ci --prefix ui`; .ci/run installs all three", chromium)
	}

	const n, deniedN = 300, 10
	accts := fakeaws.NumberedAccounts(n)
	hostile := accts[7].ID
	accts[7].Name = `<img src=x onerror=alert(1)>`
	stack := fakeaws.Start(fakeaws.Options{Accounts: accts})
	t.Cleanup(stack.Close)
	var denied []string
	for i := range deniedN {
		id := accts[20+i*25].ID
		stack.STS.Deny(id)
		denied = append(denied, id)
	}
	// The pending account is held in the fake until the browser test,
	// having seen it pending, asks for its release: no clock decides.
	pending := accts[150].ID
	release := stack.MCP.HoldAccounts(pending)
	t.Cleanup(release)
	releaser := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { release() }))
	t.Cleanup(releaser.Close)
	probe := ""
	for _, a := range accts[40:] {
		if fakeaws.InstanceCount(a.ID) > 0 {
			probe = a.ID
			break
		}
	}
	targets, _ := json.Marshal(accts)
	main := startTeamServer(t, stack, []string{"TARGET_ACCOUNTS=" + string(targets), "AWS_MCP_ACCOUNT_RPS=0"}, "--insecure-no-auth")

	wideStack := newTodayStack(t, 1000)
	wide := startTeamServer(t, wideStack, []string{accountsEnv(wideStack), "AWS_MCP_ACCOUNT_RPS=0"}, "--insecure-no-auth")

	shots := os.Getenv("AWS_MCP_VIEW_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	script := map[string]any{"code": describeInstancesScript}
	cfg, _ := json.Marshal(map[string]any{
		"chromium": chromium, "out": shots,
		"main": map[string]any{"mcp": main.URL, "targets": n, "denied": denied, "pending": pending, "release": releaser.URL, "probe": probe,
			"hostile": map[string]string{"id": hostile, "name": accts[7].Name},
			"args":    map[string]any{"tool_name": "aws___run_script", "arguments": script, "reply_within_s": 10}},
		"small": map[string]any{"mcp": main.URL, "targets": 3,
			"args": map[string]any{"tool_name": "aws___run_script", "arguments": script, "accounts": []string{accts[0].ID, accts[1].ID, accts[2].ID}}},
		"wide": map[string]any{"mcp": wide.URL, "targets": 3000,
			"args": map[string]any{"tool_name": "aws___run_script", "arguments": script, "regions": []string{"us-east-1", "eu-west-1", "ap-southeast-2"}, "reply_within_s": 30}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute) // the script gives up at 5
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(ui, "test", "browser.mjs"), string(cfg))
	cmd.Dir = ui
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var report struct {
		Failures []string `json:"failures"`
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &report); jerr != nil {
		t.Fatalf("browser test: %v (%v)\nstdout: %s\nstderr: %s", err, jerr, stdout.String(), stderr.String())
	}
	t.Logf("browser report: %s", stdout.String())
	for _, f := range report.Failures {
		t.Errorf("view: %s", f)
	}
	if err != nil && len(report.Failures) == 0 {
		t.Errorf("browser test: %v\n%s", err, stderr.String())
	}
}

// TestAppViewDeclared: the server declares the MCP Apps extension; the
// tools whose result the view renders (query_all, get_result,
// apply_change) name it in both meta keys; resources/read serves it as
// text/html;profile=mcp-app, at most 1 MiB; a client that declared the
// extension gets no resource_link in a fan-out's result (claude.ai gives
// the view no tool-result when one is there), one that did not still gets
// it (the model's answer of Claude Code, which renders no apps, is as
// before); both stay within 50,000 characters at 300 accounts, the one
// without a link a little fuller (a link's line no longer takes budget).
func TestAppViewDeclared(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 300)
	env := []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}
	apps := startProxyCaps(t, stack, env, nil, mcp.ClientCapabilities{Extensions: map[string]any{view.Extension: map[string]any{"mimeTypes": []string{view.MIMEType}}}}, "--allow-changes")
	plain := startProxy(t, stack, env, "--allow-changes")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tools, err := apps.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Tools {
		var ui map[string]any
		flat := ""
		if tool.Meta != nil {
			ui, _ = tool.Meta.AdditionalFields["ui"].(map[string]any)
			flat, _ = tool.Meta.AdditionalFields["ui/resourceUri"].(string)
		}
		shown := tool.Name == "query_all" || tool.Name == "get_result" || tool.Name == "apply_change"
		if got := ui["resourceUri"] == view.URI && flat == view.URI; got != shown {
			t.Errorf("%s: view named %v (meta %v), want %v", tool.Name, got, tool.Meta, shown)
		}
	}
	res, err := apps.client.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: view.URI}})
	if err != nil || len(res.Contents) != 1 {
		t.Fatalf("resources/read %s: %v %+v", view.URI, err, res)
	}
	html, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || html.MIMEType != view.MIMEType || len(html.Text) > view.MaxBytes || html.Text != view.HTML {
		t.Errorf("the view: %T, MIME type %q, %d bytes", res.Contents[0], html.MIMEType, len(html.Text))
	}

	args := map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(describeInstancesScript)}
	withApps, withoutApps := apps.call(t, "query_all", args), plain.call(t, "query_all", args)
	links := func(r *mcp.CallToolResult) int {
		n := 0
		for _, c := range r.Content {
			if _, ok := c.(mcp.ResourceLink); ok {
				n++
			}
		}
		return n
	}
	if links(withApps) != 0 || links(withoutApps) == 0 {
		t.Errorf("resource links: %d for a client that renders apps (want 0), %d for one that does not (want at least 1)", links(withApps), links(withoutApps))
	}
	a, b := text(withApps), text(withoutApps)
	if len(a) > 50000 || len(b) > 50000 {
		t.Errorf("structured content: %d characters with apps, %d without (want at most 50,000)", len(a), len(b))
	}
	t.Logf("300 accounts × DescribeInstances: %d characters for a client that renders apps, %d (and a link) for one that does not", len(a), len(b))
}

// TestAppViewStateless: a --stateless team server keeps no session, so a
// request of the 2026-07-28 protocol says in its own _meta whether its
// client renders apps; one that declared the extension gets no
// resource_link, one that did not gets it.
func TestAppViewStateless(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 6)
	stack.MCP.SetPayload(20 << 10)
	srv := startTeamServer(t, stack, []string{accountsEnv(stack), "AWS_MCP_RESULT_BUDGET=4KiB"}, "--stateless", "--insecure-no-auth")
	links := func(caps map[string]any) int {
		t.Helper()
		c := srv.rawSessionless("")
		c.caps = caps
		reply := c.call(t, "tools/call", map[string]any{"name": "query_all", "arguments": map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}})
		var res struct {
			Content []struct {
				Type string `json:"type"`
			} `json:"content"`
		}
		if reply.Error != nil || json.Unmarshal(reply.Result, &res) != nil {
			t.Fatalf("query_all: %s", reply)
		}
		n := 0
		for _, c := range res.Content {
			if c.Type == "resource_link" {
				n++
			}
		}
		return n
	}
	if n := links(map[string]any{"extensions": map[string]any{view.Extension: map[string]any{}}}); n != 0 {
		t.Errorf("a stateless request that declared the extension got %d resource links", n)
	}
	if n := links(nil); n == 0 {
		t.Error("a stateless request without the extension got no resource link for answers left out")
	}
}
