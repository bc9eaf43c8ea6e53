package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// TestServeStdioLeavesNoGoroutines serves in-process, closes stdin during a
// slow fan-out, and checks the server returns within 2 s and leaves no
// goroutine behind.
func TestServeStdioLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("os/signal.signal_recv"),
		goleak.IgnoreTopFunction("os/signal.loop"))

	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(5)})
	defer stack.Close()
	var cfg app.Config
	app.NewFlagSet("test", &cfg, func(string) string { return "" }, io.Discard)
	cfg.TargetAccounts = stack.AccountsJSON()
	cfg.Endpoint = stack.MCPURL
	cfg.LogLevel = 8
	base := aws.Config{Region: "us-east-1", Credentials: stack.BaseCredentials()}
	a, err := app.Build(context.Background(), cfg, app.NewLogger(io.Discard, cfg), app.Wiring{Base: &base, STSEndpoint: stack.STSURL})
	if err != nil {
		t.Fatal(err)
	}

	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- serveStdio(context.Background(), a, stdinR, stdoutW)
		stdoutW.Close()
	}()
	c := client.NewClient(transport.NewIO(stdoutR, stdinW, io.NopCloser(strings.NewReader(""))))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION}}); err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "query_all"
	req.Params.Arguments = map[string]any{"tool_name": "aws___call_aws", "arguments": map[string]any{"cli_command": "aws sts get-caller-identity"}}
	if res, err := c.CallTool(ctx, req); err != nil || res.IsError {
		t.Fatalf("query_all: %v %v", res, err)
	}

	stack.MCP.SetDefaultLatency(time.Minute)
	go c.CallTool(ctx, req)
	for deadline := time.Now().Add(10 * time.Second); stack.MCP.Inflight() < 5; {
		if time.Now().After(deadline) {
			t.Fatal("the slow fan-out did not start within 10 s")
		}
		time.Sleep(5 * time.Millisecond) // polling the fake, not synchronising
	}
	start := time.Now()
	stdinW.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serveStdio: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the server did not return within 2s of stdin closing")
	}
	t.Logf("returned %s after stdin closed", time.Since(start))
	a.Close()
	c.Close()
	stdoutR.Close()
}
