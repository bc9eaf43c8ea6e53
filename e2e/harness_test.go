package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// binaryPath is the program under test, built once by TestMain.
var binaryPath string

// parallelTests is how many tests marked t.Parallel run at once unless
// -test.parallel says otherwise: they mostly wait on fakes' latencies and
// timers, not the CPU, so more than GOMAXPROCS of them fit.
const parallelTests = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(parallelTests))
	}
	dir, err := os.MkdirTemp("", "amma-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "aws-mcp-multi-account")
	build := exec.Command("go", "build", "-o", binaryPath, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary under test:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stdoutChecker records every stdout line that is not a JSON-RPC 2.0 message.
type stdoutChecker struct {
	mu      sync.Mutex
	partial []byte
	lines   int
	bad     []string
	// longest is the length of the longest line so far (the largest
	// message the server wrote).
	longest int
}

func (c *stdoutChecker) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := c.partial[:i]
		c.lines++
		c.longest = max(c.longest, len(line))
		var msg struct {
			JSONRPC string `json:"jsonrpc"`
		}
		if err := json.Unmarshal(line, &msg); err != nil || msg.JSONRPC != "2.0" {
			c.bad = append(c.bad, string(line))
		}
		c.partial = append([]byte(nil), c.partial[i+1:]...)
	}
}

// resetLongest forgets the longest line so far and returns it.
func (c *stdoutChecker) resetLongest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.longest
	c.longest = 0
	return n
}

// check fails the test if stdout carried anything but JSON-RPC.
func (c *stdoutChecker) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 || len(bytes.TrimSpace(c.partial)) > 0 {
		t.Errorf("stdout carried non-JSON-RPC output: %q (partial %q)", c.bad, c.partial)
	}
	if c.lines == 0 {
		t.Errorf("stdout carried no JSON-RPC at all")
	}
}

// syncBuffer is a goroutine-safe buffer for stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is the binary under test, driven over stdio by the mcp-go client.
type proc struct {
	client *client.Client
	cmd    *exec.Cmd
	stdout *stdoutChecker
	stderr *syncBuffer
	stdin  io.WriteCloser
}

// startProxy runs the binary against the fakes and completes the MCP
// handshake. env entries override the stack's.
func startProxy(t *testing.T, stack *fakeaws.Stack, env []string, args ...string) *proc {
	t.Helper()
	return startProxyWith(t, stack, env, nil, args...)
}

// startProxyWith is startProxy with a client of those options (an
// elicitation handler, say).
func startProxyWith(t *testing.T, stack *fakeaws.Stack, env []string, opts []client.ClientOption, args ...string) *proc {
	t.Helper()
	return startProxyCaps(t, stack, env, opts, mcp.ClientCapabilities{}, args...)
}

// startProxyCaps is startProxyWith whose client declares caps at
// initialize (an extension, say).
func startProxyCaps(t *testing.T, stack *fakeaws.Stack, env []string, opts []client.ClientOption, caps mcp.ClientCapabilities, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binaryPath, args...)
	cmd.Env = append(append(os.Environ(), stack.Env()...), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: &stdoutChecker{}, stderr: &syncBuffer{}, stdin: stdin}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr := transport.NewIO(io.TeeReader(stdoutPipe, p.stdout), stdin, io.NopCloser(strings.NewReader("")))
	p.client = client.NewClient(tr, opts...)
	// The client answers the server's requests (elicitation) in the
	// context it started in: it lives as long as the test.
	life, end := context.WithCancel(context.Background())
	t.Cleanup(end)
	if err := p.client.Start(life); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.client.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
		ClientInfo:      mcp.Implementation{Name: "e2e-test", Version: "1"},
		Capabilities:    caps,
	}}); err != nil {
		t.Fatalf("initialize: %v\nstderr:\n%s", err, p.stderr.String())
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop closes stdin and waits for the process to exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	p.client.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("proxy exited with %v\nstderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("proxy did not exit within 5s of stdin closing")
	}
}

// call invokes a tool of the proxy.
func (p *proc) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := p.client.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", name, err, p.stderr.String())
	}
	return res
}

// tryCall invokes a tool, returning the protocol error instead of failing.
func (p *proc) tryCall(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return p.client.CallTool(ctx, req)
}

// firstText is the first text item of a result: an answer page, unchanged.
func firstText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

// text joins the text content of a result.
func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// structured decodes a result's structuredContent into v.
func structured(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	raw := res.RawStructuredContent
	if len(raw) == 0 {
		var err error
		if raw, err = json.Marshal(res.StructuredContent); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("structuredContent %s: %v", raw, err)
	}
}

// queryAllOutput mirrors the query_all structuredContent contract (also
// apply_change's, and get_result's of every stored answer).
type queryAllOutput struct {
	ToolName string `json:"tool_name"`
	Results  []struct {
		AccountID  string          `json:"account_id"`
		Name       string          `json:"name"`
		Region     string          `json:"region"`
		Status     string          `json:"status"`
		Data       json.RawMessage `json:"data"`
		Error      string          `json:"error"`
		ErrorCode  string          `json:"error_code"`
		SameAs     string          `json:"same_as"`
		DurationMS *int64          `json:"duration_ms"`
	} `json:"results"`
	Summary struct {
		Total     int    `json:"total"`
		Succeeded int    `json:"succeeded"`
		Failed    int    `json:"failed"`
		Skipped   int    `json:"skipped"`
		ResultID  string `json:"result_id"`
	} `json:"summary"`
	Warnings []string `json:"warnings"`
}

// callerAccount extracts the "Account" an sts get-caller-identity answer
// names: the answer itself, as an entry's data carries it.
func callerAccount(t *testing.T, data json.RawMessage) string {
	t.Helper()
	var id struct {
		Account string
		Content []struct{ Text string } // the seed's events answer the upstream's whole result
	}
	err := json.Unmarshal(data, &id)
	if err == nil && id.Account == "" && len(id.Content) == 1 {
		err = json.Unmarshal([]byte(id.Content[0].Text), &id)
	}
	if err != nil || id.Account == "" {
		t.Fatalf("caller identity %s: %v", data, err)
	}
	return id.Account
}

var callerIdentity = map[string]any{"cli_command": "aws sts get-caller-identity"}

// rpcPage is the answer a raw get_result reply's page holds.
func rpcPage(result json.RawMessage) string {
	var res struct {
		StructuredContent struct {
			Data json.RawMessage `json:"data"`
			Text string          `json:"text"`
		} `json:"structuredContent"`
	}
	_ = json.Unmarshal(result, &res)
	if res.StructuredContent.Data != nil {
		return string(res.StructuredContent.Data)
	}
	return res.StructuredContent.Text
}

// newStack starts fakes with n numbered accounts and stops them with the test.
func newStack(t *testing.T, n int) *fakeaws.Stack {
	t.Helper()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(n)})
	t.Cleanup(stack.Close)
	return stack
}

// newTodayStack starts fakes of n accounts behind an AWS MCP Server with
// today's tool list (aws___run_script, no aws___call_aws).
func newTodayStack(t *testing.T, n int) *fakeaws.Stack {
	t.Helper()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(n)})
	t.Cleanup(stack.Close)
	return stack
}

// scriptArgs are the arguments of aws___run_script for code.
func scriptArgs(code string) map[string]any { return map[string]any{"code": code} }

// describeInstancesScript returns every account's DescribeInstances answer.
const describeInstancesScript = "resp = await call_boto3(service_name='ec2', operation_name='DescribeInstances')\nresp"

// accountsEnv configures the stack's accounts through TARGET_ACCOUNTS.
func accountsEnv(stack *fakeaws.Stack) string {
	return "TARGET_ACCOUNTS=" + stack.AccountsJSON()
}

func mcpListTools() mcp.ListToolsRequest { return mcp.ListToolsRequest{} }

// toolNames lists the names of the tools a session is offered.
func toolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcpListTools())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}
