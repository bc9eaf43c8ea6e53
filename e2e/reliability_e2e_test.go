package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/testutil"
)

// TestUpstreamFaultsAreReportedPerAccount injects each upstream fault into
// one account of a fan-out: that account reports the cause, the others
// succeed, and the process keeps serving.
func TestUpstreamFaultsAreReportedPerAccount(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 3)
	faulty := stack.Accounts[1].ID
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_TIMEOUT=3s"}, "--max-response-bytes", "256KiB")
	tests := []struct {
		name    string
		inject  func()
		wantErr string
	}{
		{"503 that persists", func() { stack.MCP.FailCalls(faulty, 503, -1, "") }, "HTTP 503"},
		{"429 with a long Retry-After", func() { stack.MCP.FailCalls(faulty, 429, -1, "120") }, "HTTP 429"},
		{"connection reset", func() {
			stack.MCP.SetOverride(faulty, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return true
			})
		}, "connection closed before an answer"},
		{"slow headers", func() { stack.MCP.SetLatency(faulty, time.Minute) }, "timed out"},
		{"an SSE stream cut mid-response", func() {
			stack.MCP.SetOverride(faulty, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"res", id)
				w.(http.Flusher).Flush()
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return true
			})
		}, "broke off"},
		{"an expired MCP session", func() { stack.MCP.ExpireSessions() }, ""},
		{"a body over --max-response-bytes", func() {
			stack.MCP.SetOverride(faulty, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"%s"}]}}`, id, strings.Repeat("x", 1<<20))
				return true
			})
		}, "exceeds the size limit"},
		{"invalid JSON", func() {
			stack.MCP.SetOverride(faulty, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("{not json"))
				return true
			})
		}, "decode response"},
		{"a JSON-RPC error object", func() {
			stack.MCP.SetOverride(faulty, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32000,"message":"throttled by the service"}}`, id)
				return true
			})
		}, "upstream JSON-RPC error -32000: throttled by the service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.inject()
			defer func() {
				stack.MCP.FailCalls(faulty, 0, 0, "")
				stack.MCP.SetOverride(faulty, nil)
				stack.MCP.SetLatency(faulty, 0)
			}()
			res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
			var out queryAllOutput
			structured(t, res, &out)
			if len(out.Results) != 3 {
				t.Fatalf("%d results: %s", len(out.Results), text(res))
			}
			for _, r := range out.Results {
				switch {
				case r.AccountID == faulty && tt.wantErr != "":
					if r.Status != "error" || !strings.Contains(r.Error, tt.wantErr) {
						t.Errorf("faulty account: %s %q, want an error containing %q", r.Status, r.Error, tt.wantErr)
					}
				case r.Status != "success":
					t.Errorf("account %s: %s", r.AccountID, r.Error)
				}
			}
		})
	}
	// Still serving.
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	var out queryAllOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 3 {
		t.Errorf("after the faults: %+v", out.Summary)
	}
	p.stop(t)
	p.stdout.check(t)
}

// TestClientCancellationAbortsUpstreamCalls: a notifications/cancelled from
// the client (sent by the mcp-go client when the call's context ends)
// aborts the upstream requests in flight.
func TestClientCancellationAbortsUpstreamCalls(t *testing.T) {
	stack := newStack(t, 6)
	p := startProxy(t, stack, []string{accountsEnv(stack)})
	p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}) // warm up
	stack.MCP.SetDefaultLatency(time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "query_all"
		req.Params.Arguments = map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}
		_, err := p.client.CallTool(ctx, req)
		done <- err
	}()
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 6 })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled call did not return within 10 s")
	}
	waitUntil(t, func() bool { return stack.MCP.Aborted() == 6 })
	stack.MCP.SetDefaultLatency(0)
	// The process keeps serving.
	res := p.call(t, "list_accounts", nil)
	if res.IsError {
		t.Error(text(res))
	}
	p.stop(t)
	p.stdout.check(t)
}

// TestShutdownIsPrompt: stdin EOF or SIGTERM during a slow fan-out ends the
// process within 2 s.
func TestShutdownIsPrompt(t *testing.T) {
	for _, how := range []string{"stdin EOF", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			stack := newStack(t, 4)
			stack.MCP.SetDefaultLatency(time.Minute)
			p := startProxy(t, stack, []string{accountsEnv(stack)})
			go func() {
				req := mcp.CallToolRequest{}
				req.Params.Name = "query_all"
				req.Params.Arguments = map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}
				p.client.CallTool(context.Background(), req)
			}()
			waitUntil(t, func() bool { return stack.MCP.Inflight() == 4 })
			exited := make(chan error, 1)
			go func() { exited <- p.cmd.Wait() }()
			start := time.Now()
			if how == "SIGTERM" {
				p.cmd.Process.Signal(syscall.SIGTERM)
			} else {
				p.stdin.Close()
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("exit: %v\n%s", err, p.stderr.String())
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("took %s to exit", took)
				}
			case <-time.After(2 * time.Second):
				p.cmd.Process.Kill()
				t.Fatalf("still running 2s after %s", how)
			}
		})
	}
}

// waitUntil polls cond until it holds or 10 s pass.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "condition", cond)
}

// TestNoSecretsInLogsOrAnswers runs a full session at debug level, with
// failures, and looks for every secret the fakes issued or saw.
func TestNoSecretsInLogsOrAnswers(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 5)
	stack.STS.Deny(stack.Accounts[2].ID)
	stack.MCP.FailCalls(stack.Accounts[3].ID, 500, -1, "")
	stack.MCP.RejectSignatures(stack.Accounts[4].ID, true) // AWS echoes the canonical request, token included
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_LOG_LEVEL=debug"})
	var answers strings.Builder
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}},
		{"query", map[string]any{"account_id": stack.Accounts[0].ID, "tool_name": "aws___call_aws", "arguments": callerIdentity}},
		{"query", map[string]any{"account_id": stack.Accounts[2].ID, "tool_name": "aws___list_regions"}},
		{"list_tools", nil},
	} {
		res := p.call(t, call.tool, call.args)
		answers.WriteString(text(res))
	}
	stack.Keys.ExpireAccount(stack.Accounts[0].ID)
	answers.WriteString(text(p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})))
	p.stop(t)

	logs := p.stderr.String()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatalf("no debug logs captured:\n%s", logs)
	}
	var secrets []string
	for _, c := range stack.Keys.All() {
		secrets = append(secrets, c.SecretAccessKey)
		if c.SessionToken != "" {
			secrets = append(secrets, c.SessionToken)
		}
	}
	secrets = append(secrets, stack.MCP.Signatures()...)
	if len(secrets) < 10 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	if !strings.Contains(answers.String(), "InvalidSignatureException") {
		t.Errorf("the signature mismatch was not reported:\n%s", answers.String())
	}
	for _, s := range secrets {
		// A prefix catches a token cut short by a truncated message.
		probe := s[:min(len(s), 16)]
		if strings.Contains(logs, probe) {
			t.Errorf("a secret (%.6s…) appears in the logs", s)
		}
		if strings.Contains(answers.String(), probe) {
			t.Errorf("a secret (%.6s…) appears in an answer", s)
		}
	}
	if !strings.Contains(logs, `msg="upstream call"`) || !strings.Contains(logs, "session=Bridge-") {
		t.Errorf("audit lines missing:\n%.3000s", logs)
	}
}

// TestDeniedRolesAreNotAskedAgain: 50 accounts whose role denies us cost
// 50 AssumeRole calls over three fan-outs, not 150; their entries say the
// denial is remembered.
func TestDeniedRolesAreNotAskedAgain(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 60)
	for _, a := range stack.Accounts[:50] {
		stack.STS.Deny(a.ID)
	}
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_CONCURRENCY=32"})
	for i := range 3 {
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
		var out queryAllOutput
		structured(t, res, &out)
		if out.Summary.Failed != 50 || out.Summary.Succeeded != 10 {
			t.Fatalf("fan-out %d: %+v", i, out.Summary)
		}
		if i > 0 && !strings.Contains(text(res), "(cached, retried after ") {
			t.Errorf("fan-out %d does not say the denials are remembered:\n%.1500s", i, text(res))
		}
	}
	denied := 0
	for _, a := range stack.Accounts[:50] {
		denied += stack.STS.AssumeRoleCount(a.ID)
	}
	if denied != 50 {
		t.Errorf("%d AssumeRole calls for the 50 denied accounts over three fan-outs, want 50", denied)
	}
}
