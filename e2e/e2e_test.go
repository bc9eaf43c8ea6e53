package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// TestStdioEndToEnd drives the real binary over stdio with the mcp-go
// client against the fakes, with 60 accounts of which one is denied.
func TestStdioEndToEnd(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 60)
	denied := stack.Accounts[7].ID
	stack.STS.Deny(denied)
	p := startProxy(t, stack, []string{accountsEnv(stack)})

	t.Run("tools/list advertises the tools with input schemas", func(t *testing.T) {
		res, err := p.client.ListTools(context.Background(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]mcp.Tool{}
		for _, tool := range res.Tools {
			got[tool.Name] = tool
		}
		for _, name := range []string{"list_accounts", "query", "query_all"} {
			tool, ok := got[name]
			if !ok {
				t.Fatalf("tool %s missing from tools/list", name)
			}
			schema, _ := json.Marshal(tool.InputSchema)
			if tool.InputSchema.Type != "object" {
				t.Errorf("%s input schema type %q, want object: %s", name, tool.InputSchema.Type, schema)
			}
		}
		if req := got["query"].InputSchema.Required; !slices.Contains(req, "account_id") || !slices.Contains(req, "tool_name") {
			t.Errorf("query requires %v, want account_id and tool_name", req)
		}
		if _, ok := got["query_all"].InputSchema.Properties["regions"]; !ok {
			t.Errorf("query_all has no regions property")
		}
	})

	t.Run("list_accounts returns every account", func(t *testing.T) {
		res := p.call(t, "list_accounts", nil)
		var out struct {
			Accounts []struct{ ID, Name, Source string }
			Count    int
		}
		structured(t, res, &out)
		if out.Count != 60 || len(out.Accounts) != 60 {
			t.Fatalf("got %d accounts (count %d), want 60", len(out.Accounts), out.Count)
		}
		for i, a := range out.Accounts {
			want := stack.Accounts[i]
			if a.ID != want.ID || a.Name != want.Name || a.Source != "env" {
				t.Errorf("account %d = %+v, want %s %s from env", i, a, want.ID, want.Name)
			}
		}
	})

	t.Run("query is signed by exactly that account's assumed role", func(t *testing.T) {
		acct := stack.Accounts[3]
		before := stack.MCP.CallCount("")
		res := p.call(t, "query", map[string]any{"account_id": acct.ID, "tool_name": "aws___call_aws", "arguments": callerIdentity})
		if res.IsError {
			t.Fatalf("query failed: %s", text(res))
		}
		calls := stack.MCP.Calls()[before:]
		if len(calls) != 1 {
			t.Fatalf("upstream saw %d calls, want 1", len(calls))
		}
		c := calls[0]
		wantPrincipal := fmt.Sprintf("arn:aws:sts::%s:assumed-role/CentralOpsTargetRole/Bridge-%s", acct.ID, acct.ID)
		if c.Account != acct.ID || c.Principal != wantPrincipal {
			t.Errorf("upstream call signed by %s (%s), want %s", c.Account, c.Principal, wantPrincipal)
		}
		if c.Region != "us-east-1" {
			t.Errorf("_meta.AWS_REGION = %q, want us-east-1", c.Region)
		}
		if !strings.Contains(text(res), `"Account":"`+acct.ID+`"`) {
			t.Errorf("result does not name the account: %s", text(res))
		}
		var reply struct {
			AccountID string `json:"account_id"`
			Status    string `json:"status"`
		}
		if structured(t, res, &reply); reply.AccountID != acct.ID || reply.Status != "success" || !sameJSON(firstText(res), string(res.RawStructuredContent)) {
			t.Errorf("the answer is not attributed to the account, or its text is not its structured content: %s", firstText(res))
		}
	})

	t.Run("query_all returns one attributed entry per account; the denied one is an error", func(t *testing.T) {
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
		if res.IsError {
			t.Fatalf("query_all failed: %s", text(res))
		}
		var out queryAllOutput
		structured(t, res, &out)
		if len(out.Results) != 60 || out.Summary.Total != 60 || out.Summary.Failed != 1 || out.Summary.Succeeded != 59 {
			t.Fatalf("got %d results, summary %+v; want 60 with 1 failed", len(out.Results), out.Summary)
		}
		for i, r := range out.Results {
			want := stack.Accounts[i]
			if r.AccountID != want.ID || r.Name != want.Name || r.Region != "us-east-1" || r.DurationMS == nil {
				t.Errorf("entry %d = %s %s %s, want %s %s us-east-1 with duration", i, r.AccountID, r.Name, r.Region, want.ID, want.Name)
			}
			if r.AccountID == denied {
				if r.Status != "error" || !strings.Contains(r.Error, "AccessDenied") || !strings.Contains(r.Error, "arn:aws:iam::"+denied+":role/CentralOpsTargetRole") {
					t.Errorf("denied account entry = %+v, want an AccessDenied error naming the role", r)
				}
				continue
			}
			if r.Status != "success" {
				t.Errorf("account %s: %s %s", r.AccountID, r.Status, r.Error)
				continue
			}
			if got := callerAccount(t, r.Data); got != r.AccountID {
				t.Errorf("entry for %s carries the answer of account %s", r.AccountID, got)
			}
		}
		if !strings.Contains(text(res), "59 of 60 succeeded") {
			t.Errorf("text summary missing: %.200s", text(res))
		}
	})

	t.Run("an unknown account_id is a tool error naming it, with no STS call", func(t *testing.T) {
		before := stack.STS.AssumeRoleCount("")
		res := p.call(t, "query", map[string]any{"account_id": "999999999999", "tool_name": "aws___call_aws", "arguments": callerIdentity})
		if !res.IsError || !strings.Contains(text(res), "999999999999") {
			t.Errorf("want a tool error naming 999999999999, got %v %q", res.IsError, text(res))
		}
		if n := stack.STS.AssumeRoleCount(""); n != before {
			t.Errorf("AssumeRole was called %d times for an unknown account", n-before)
		}
	})

	p.stop(t)
	p.stdout.check(t)
}

// TestAssumeRoleOncePerAccount checks the credential cache: one AssumeRole
// per account across repeated fan-outs and concurrent queries.
func TestAssumeRoleOncePerAccount(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 12)
	p := startProxy(t, stack, []string{accountsEnv(stack)})

	for i := 0; i < 3; i++ {
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
		var out queryAllOutput
		structured(t, res, &out)
		if out.Summary.Succeeded != 12 {
			t.Fatalf("round %d: %+v", i, out.Summary)
		}
	}
	for _, a := range stack.Accounts {
		if n := stack.STS.AssumeRoleCount(a.ID); n != 1 {
			t.Errorf("account %s: %d AssumeRole calls across 3 query_all, want 1", a.ID, n)
		}
	}

	// 20 concurrent queries to one fresh account share one AssumeRole.
	fresh := fakeaws.Account{ID: "300000000001", Name: "fresh"}
	stack2 := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: []fakeaws.Account{fresh}})
	t.Cleanup(stack2.Close)
	stack2.STS.SetLatency(fresh.ID, 50*time.Millisecond)
	p2 := startProxy(t, stack2, []string{accountsEnv(stack2)})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			res := p2.call(t, "query", map[string]any{"account_id": fresh.ID, "tool_name": "aws___call_aws", "arguments": callerIdentity})
			if res.IsError {
				t.Errorf("query: %s", text(res))
			}
		})
	}
	wg.Wait()
	if n := stack2.STS.AssumeRoleCount(fresh.ID); n != 1 {
		t.Errorf("20 concurrent queries made %d AssumeRole calls, want 1", n)
	}
	if n := stack2.MCP.SessionsOpened(); n != 1 {
		t.Errorf("20 concurrent queries opened %d upstream sessions, want 1", n)
	}
	p.stop(t)
	p2.stop(t)
	p.stdout.check(t)
	p2.stdout.check(t)
}

// TestFanOutIsParallelAndBounded checks the loose latency bound of the core
// issue (the real numbers come from the benchmarks) and the per-account
// timeout.
func TestFanOutIsParallelAndBounded(t *testing.T) {
	stack := newStack(t, 64)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_CONCURRENCY=16"})
	// Parallel and bounded, counted at the fake rather than timed: with
	// every call held, 16 are in flight at once and never more.
	release := stack.MCP.Hold()
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		done <- p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	}()
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 16 })
	release()
	res := <-done
	var out queryAllOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 64 {
		t.Fatalf("summary %+v", out.Summary)
	}
	if got := stack.MCP.MaxInflight(); got != 16 {
		t.Errorf("upstream saw at most %d calls at once, want 16", got)
	}
	p.stop(t)
	p.stdout.check(t)
}

func TestPerAccountTimeout(t *testing.T) {
	stack := newStack(t, 8)
	slow := stack.Accounts[2].ID
	stack.MCP.SetLatency(slow, 20*time.Second)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_TIMEOUT=1s"})

	start := time.Now()
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	elapsed := time.Since(start)
	var out queryAllOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 7 || out.Summary.Failed != 1 {
		t.Fatalf("summary %+v, want 7 succeeded and 1 failed", out.Summary)
	}
	for _, r := range out.Results {
		if r.AccountID == slow && (r.Status != "error" || r.ErrorCode != "timeout" || !strings.Contains(r.Error, "timed out")) {
			t.Errorf("slow account entry = %+v, want a timeout error", r)
		}
	}
	if elapsed > 15*time.Second {
		t.Errorf("query_all took %s with a 1s per-account timeout and a 20 s account", elapsed)
	}
	p.stop(t)
	p.stdout.check(t)
}

// TestGatewaySchemaMatchesStdioTools compares the printed gateway schema
// with what the stdio server's tools/list reports.
func TestGatewaySchemaMatchesStdioTools(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binaryPath, "gateway-schema").Output()
	if err != nil {
		t.Fatal(err)
	}
	var gw []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		InputSchema struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"inputSchema"`
	}
	if err := json.Unmarshal(out, &gw); err != nil {
		t.Fatalf("gateway-schema output does not parse: %v\n%s", err, out)
	}

	stack := newStack(t, 1)
	p := startProxy(t, stack, []string{accountsEnv(stack)})
	listed, err := p.client.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gw) != len(listed.Tools) {
		t.Fatalf("gateway schema has %d tools, tools/list %d", len(gw), len(listed.Tools))
	}
	byName := map[string]mcp.Tool{}
	for _, tool := range listed.Tools {
		byName[tool.Name] = tool
	}
	for _, g := range gw {
		tool, ok := byName[g.Name]
		if !ok {
			t.Errorf("gateway tool %s is not advertised over stdio", g.Name)
			continue
		}
		if g.InputSchema.Type != tool.InputSchema.Type || !slices.Equal(g.InputSchema.Required, tool.InputSchema.Required) {
			t.Errorf("%s: gateway type/required %s %v, stdio %s %v", g.Name, g.InputSchema.Type, g.InputSchema.Required, tool.InputSchema.Type, tool.InputSchema.Required)
		}
		if len(g.InputSchema.Properties) != len(tool.InputSchema.Properties) {
			t.Errorf("%s: gateway has %d properties, stdio %d", g.Name, len(g.InputSchema.Properties), len(tool.InputSchema.Properties))
		}
		for name, raw := range g.InputSchema.Properties {
			stdioProp, ok := tool.InputSchema.Properties[name].(map[string]any)
			var gwProp struct{ Type string }
			json.Unmarshal(raw, &gwProp)
			if !ok || stdioProp["type"] != gwProp.Type {
				t.Errorf("%s.%s: gateway type %q, stdio %v", g.Name, name, gwProp.Type, tool.InputSchema.Properties[name])
			}
		}
		if !strings.HasPrefix(tool.Description, g.Description[:40]) {
			t.Errorf("%s: descriptions differ", g.Name)
		}
	}
	p.stop(t)
}

// TestRequestsSayWhoIsCalling: upstream MCP requests carry this program's
// User-Agent and the MCP client's name from initialize; STS requests carry
// the SDK app id.
func TestRequestsSayWhoIsCalling(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 2)
	p := startProxy(t, stack, []string{accountsEnv(stack)})
	p.call(t, "query", map[string]any{"account_id": stack.Accounts[0].ID, "tool_name": "aws___call_aws", "arguments": callerIdentity})
	calls := stack.MCP.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d upstream calls, want 1", len(calls))
	}
	if calls[0].UserAgent != "aws-mcp-multi-account/dev e2e-test/1" {
		t.Errorf("upstream User-Agent %q, want %q", calls[0].UserAgent, "aws-mcp-multi-account/dev e2e-test/1")
	}
	assumes := stack.STS.Calls()
	if len(assumes) != 1 || !strings.Contains(assumes[0].UserAgent, "app/aws-mcp-multi-account_dev") {
		t.Errorf("STS User-Agent %q, want the SDK app id app/aws-mcp-multi-account_dev", assumes[0].UserAgent)
	}
}
