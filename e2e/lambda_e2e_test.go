package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakelambda"
	"github.com/centralops/aws-mcp-multi-account/internal/fakes3"
)

var (
	bootstrapOnce sync.Once
	bootstrapPath string
	bootstrapErr  error
)

// buildBootstrap builds the Lambda entry (-tags lambda) once.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	bootstrapOnce.Do(func() {
		bootstrapPath = filepath.Join(filepath.Dir(binaryPath), "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda", "-o", bootstrapPath, "..")
		out, err := cmd.CombinedOutput()
		if err != nil {
			bootstrapErr = err
			t.Logf("%s", out)
		}
	})
	if bootstrapErr != nil {
		t.Fatalf("building bootstrap: %v", bootstrapErr)
	}
	return bootstrapPath
}

// lambdaEnv is a running bootstrap against a fake Runtime API and the fakes.
type lambdaFixture struct {
	rt     *fakelambda.Runtime
	stack  *fakeaws.Stack
	stderr *syncBuffer
}

func startBootstrap(t *testing.T, stack *fakeaws.Stack, env ...string) *lambdaFixture {
	t.Helper()
	rt := fakelambda.Start()
	t.Cleanup(rt.Close)
	cmd := exec.Command(buildBootstrap(t))
	cmd.Env = append(append(append(os.Environ(), stack.Env()...), "AWS_LAMBDA_RUNTIME_API="+rt.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=aws-mcp-bridge", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"), env...)
	f := &lambdaFixture{rt: rt, stack: stack, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = f.stderr, f.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return f
}

// invoke sends one event as the gateway would for tool "<target>___<tool>".
func (f *lambdaFixture) invoke(t *testing.T, gatewayTool string, event any, timeout time.Duration) fakelambda.Outcome {
	t.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	var cc *fakelambda.ClientContext
	if gatewayTool != "" {
		cc = &fakelambda.ClientContext{Custom: map[string]string{
			"bedrockAgentCoreToolName":     gatewayTool,
			"bedrockAgentCoreGatewayId":    "gw-123",
			"bedrockAgentCoreTargetId":     "tgt-456",
			"bedrockAgentCoreMcpMessageId": "7",
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	out, err := f.rt.Invoke(ctx, payload, cc, timeout)
	if err != nil {
		t.Fatalf("invoke %s: %v\nfunction output:\n%s", gatewayTool, err, f.stderr.String())
	}
	return out
}

func TestLambdaBridge(t *testing.T) {
	stack := newStack(t, 6)
	denied := stack.Accounts[4].ID
	stack.STS.Deny(denied)
	// Changes are never offered by the bridge, whatever the environment says.
	f := startBootstrap(t, stack, accountsEnv(stack), "AWS_MCP_ALLOW_CHANGES=true")
	const target = "bridge-lambda___"

	t.Run("list_accounts", func(t *testing.T) {
		out := f.invoke(t, target+"list_accounts", map[string]any{}, 30*time.Second)
		var got struct {
			Accounts []struct{ ID, Name, Source string }
			Count    int
		}
		if err := json.Unmarshal(out.Response, &got); err != nil || got.Count != 6 || got.Accounts[0].ID != stack.Accounts[0].ID {
			t.Fatalf("response %s (error %s): %v", out.Response, out.Error, err)
		}
	})

	t.Run("query reaches the upstream as the account", func(t *testing.T) {
		acct := stack.Accounts[1].ID
		out := f.invoke(t, target+"query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "arguments": callerIdentity}, 30*time.Second)
		var got struct {
			AccountID string          `json:"account_id"`
			Status    string          `json:"status"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(out.Response, &got); err != nil || got.Status != "success" {
			t.Fatalf("response %s (error %s): %v", out.Response, out.Error, err)
		}
		if callerAccount(t, got.Data) != acct || got.AccountID != acct {
			t.Errorf("answer not attributed to %s: %s", acct, out.Response)
		}
	})

	t.Run("query_all with a denied account", func(t *testing.T) {
		out := f.invoke(t, target+"query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}, 30*time.Second)
		var got queryAllOutput
		if err := json.Unmarshal(out.Response, &got); err != nil {
			t.Fatalf("response %s (error %s): %v", out.Response, out.Error, err)
		}
		if got.Summary.Total != 6 || got.Summary.Failed != 1 {
			t.Fatalf("summary %+v", got.Summary)
		}
		for _, r := range got.Results {
			if (r.AccountID == denied) != (r.Status == "error") {
				t.Errorf("entry %+v", r)
			}
		}
	})

	t.Run("a warm invocation makes no new AssumeRole call", func(t *testing.T) {
		before := stack.STS.AssumeRoleCount("")
		out := f.invoke(t, target+"query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}, 30*time.Second)
		// The others reuse their credentials, and the denied account's
		// AccessDenied is remembered (--denied-ttl) rather than asked again.
		if n := stack.STS.AssumeRoleCount("") - before; n != 0 {
			t.Errorf("warm invocation made %d AssumeRole calls, want 0", n)
		}
		if !strings.Contains(string(out.Response), "(cached, retried after ") {
			t.Errorf("the denied account's entry does not say the denial is cached: %.500s", out.Response)
		}
	})

	t.Run("invocations that cannot be understood are function errors", func(t *testing.T) {
		tests := []struct{ tool, want string }{
			{"", "bedrockAgentCoreToolName"},
			{"bridge-lambda___", "malformed tool name"},
			{"bridge-lambda___drop_tables", "unknown tool"},
			{"bridge-lambda___change_all", "unknown tool"},
			{"bridge-lambda___apply_change", "unknown tool"},
		}
		for _, tt := range tests {
			out := f.invoke(t, tt.tool, map[string]any{"x": 1}, 30*time.Second)
			if len(out.Error) == 0 || !strings.Contains(string(out.Error), tt.want) {
				t.Errorf("tool %q: got response %s error %s, want an error containing %q", tt.tool, out.Response, out.Error, tt.want)
			}
		}
	})

	t.Run("bad arguments are a clear error in the answer", func(t *testing.T) {
		tests := []struct {
			tool  string
			event map[string]any
			want  string
		}{
			{"query", map[string]any{"account_id": "123", "tool_name": "aws___call_aws"}, `\"123\" is not a 12-digit account id`},
			{"query", map[string]any{"tool_name": "aws___call_aws"}, `missing required parameter \"account_id\"`},
			{"query_all", map[string]any{"tool_name": "aws___call_aws", "regions": "not-a-region"}, `region \"not-a-region\"`},
			{"query_all", map[string]any{"tool_name": 5}, `parameter \"tool_name\" must be a string`},
			{"list_accounts", map[string]any{"tags": map[string]any{"env": "none"}}, "selection matched no account"},
		}
		for _, tt := range tests {
			out := f.invoke(t, target+tt.tool, tt.event, 30*time.Second)
			if len(out.Error) > 0 || !strings.Contains(string(out.Response), `"status":"error"`) || !strings.Contains(string(out.Response), tt.want) {
				t.Errorf("%s %v: response %s error %s, want a status error containing %q", tt.tool, tt.event, out.Response, out.Error, tt.want)
			}
		}
	})

	t.Run("seed-shaped events still work", func(t *testing.T) {
		acct := stack.Accounts[2].ID
		body, _ := json.Marshal(map[string]any{"action": "query", "tool_name": "aws___call_aws", "arguments": callerIdentity, "account_id": acct})
		out := f.invoke(t, "", map[string]any{"body": string(body)}, 30*time.Second)
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out.Response, &resp); err != nil || resp.StatusCode != 200 {
			t.Fatalf("response %s error %s", out.Response, out.Error)
		}
		var rpc struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &rpc); err != nil || callerAccount(t, rpc.Result) != acct {
			t.Errorf("seed body %s", resp.Body)
		}

		body, _ = json.Marshal(map[string]any{"action": "list_accounts"})
		out = f.invoke(t, "", map[string]any{"body": string(body)}, 30*time.Second)
		if err := json.Unmarshal(out.Response, &resp); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, stack.Accounts[0].ID) {
			t.Errorf("seed list_accounts: %s", out.Response)
		}

		body, _ = json.Marshal(map[string]any{"action": "drop"})
		out = f.invoke(t, "", map[string]any{"body": string(body)}, 30*time.Second)
		if err := json.Unmarshal(out.Response, &resp); err != nil || resp.StatusCode != 400 || !strings.Contains(resp.Body, "Unknown action") {
			t.Errorf("seed unknown action: %s", out.Response)
		}
	})

	t.Run("the invocation answers before its deadline", func(t *testing.T) {
		slow := stack.Accounts[0].ID
		stack.MCP.SetLatency(slow, 20*time.Second)
		defer stack.MCP.SetLatency(slow, 0)
		start := time.Now()
		// The deadline is the subject: 8 s, so that a machine five times
		// slower than a quiet one still answers the four quick accounts.
		out := f.invoke(t, target+"query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}, 8*time.Second)
		elapsed := time.Since(start)
		var got queryAllOutput
		if err := json.Unmarshal(out.Response, &got); err != nil {
			t.Fatalf("response %s error %s", out.Response, out.Error)
		}
		if elapsed >= 8*time.Second {
			t.Errorf("answered after %s, past the 8s deadline", elapsed)
		}
		for _, r := range got.Results {
			if r.AccountID == slow && (r.Status != "error" || r.ErrorCode != "timeout") {
				t.Errorf("slow account entry %+v, want a timeout", r)
			}
		}
		if got.Summary.Succeeded != 4 {
			t.Errorf("summary %+v, want the 4 other allowed accounts to succeed", got.Summary)
		}
	})

	if strings.Contains(f.stderr.String(), stack.Base.SecretAccessKey) {
		t.Error("the function logged the base secret key")
	}
	if !strings.Contains(f.stderr.String(), `"gateway_id":"gw-123"`) {
		t.Errorf("gateway trace ids are not logged:\n%.2000s", f.stderr.String())
	}
}

// TestLambdaDeadlineMarksQueuedAccountsTimedOut: at the invocation's budget,
// accounts still waiting for a worker are reported as timed out too.
func TestLambdaDeadlineMarksQueuedAccountsTimedOut(t *testing.T) {
	stack := newStack(t, 3)
	stack.MCP.SetDefaultLatency(20 * time.Second)
	f := startBootstrap(t, stack, accountsEnv(stack), "AWS_MCP_CONCURRENCY=1")
	out := f.invoke(t, "bridge-lambda___query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}, 3*time.Second)
	var got queryAllOutput
	if err := json.Unmarshal(out.Response, &got); err != nil {
		t.Fatalf("response %s error %s", out.Response, out.Error)
	}
	if len(got.Results) != 3 {
		t.Fatalf("%d results", len(got.Results))
	}
	for _, r := range got.Results {
		if r.Status != "error" || r.ErrorCode != "timeout" {
			t.Errorf("entry %+v, want a timeout", r)
		}
	}
}

// TestLambdaAnswersFitAndLandInTheBucket: 1,000 accounts answering 8 KiB
// each. The answer stays within the Lambda budget (256 KiB) with every
// account in it; with a results bucket, a new bootstrap process (another
// container) answers get_result for any account from S3.
func TestLambdaAnswersFitAndLandInTheBucket(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 1000)
	stack.MCP.SetPayload(8 << 10)
	bucket, err := fakes3.Start(stack.Keys, "bridge-results")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bucket.Close)
	// The invocation budget is not the subject here (TestLambdaBudget...
	// is): a loaded machine must not turn answers into timeouts.
	s3env := []string{accountsEnv(stack), "AWS_MCP_CONCURRENCY=64", "AWS_MCP_INVOCATION_BUDGET=5m", "AWS_ENDPOINT_URL_S3=" + bucket.URL, "AWS_MCP_RESULTS_BUCKET=bridge-results"}
	const target = "bridge-lambda___"
	args := map[string]any{"tool_name": "aws___call_aws", "arguments": map[string]any{"cli_command": "aws s3api list-buckets"}}

	t.Run("without a bucket the answer says the data is not kept", func(t *testing.T) {
		f := startBootstrap(t, stack, accountsEnv(stack), "AWS_MCP_CONCURRENCY=64", "AWS_MCP_INVOCATION_BUDGET=5m")
		out := f.invoke(t, target+"query_all", args, 5*time.Minute)
		var got budgetedOutput
		if err := json.Unmarshal(out.Response, &got); err != nil {
			t.Fatalf("response %.300s: %v", out.Response, err)
		}
		if len(out.Response) > 256<<10 || len(got.Results) != 1000 || got.Summary.Succeeded != 1000 || got.Summary.ResultID != "" || got.Summary.Omitted == 0 {
			t.Errorf("%d bytes, %d entries, summary %+v", len(out.Response), len(got.Results), got.Summary)
		}
		res := f.invoke(t, target+"get_result", map[string]any{"result_id": "r-aaaaaaaaaaaaaaaaaaaa"}, 10*time.Second)
		if !strings.Contains(string(res.Response), "no results bucket (AWS_MCP_RESULTS_BUCKET) is configured") {
			t.Errorf("get_result without a bucket: %s %s", res.Response, res.Error)
		}
	})

	f := startBootstrap(t, stack, s3env...)
	out := f.invoke(t, target+"query_all", args, 5*time.Minute)
	var got budgetedOutput
	if err := json.Unmarshal(out.Response, &got); err != nil {
		t.Fatalf("response %.300s (error %s): %v", out.Response, out.Error, err)
	}
	t.Logf("1,000 accounts × 8 KiB: a %d-byte answer, %d entries with data omitted", len(out.Response), got.Summary.Omitted)
	if len(out.Response) > 256<<10 || len(got.Results) != 1000 || got.Summary.Succeeded != 1000 || got.Summary.ResultID == "" {
		t.Fatalf("%d bytes, %d entries, summary %+v", len(out.Response), len(got.Results), got.Summary)
	}
	for i, r := range got.Results {
		if r.AccountID != stack.Accounts[i].ID || (r.Data == nil) != (r.DataOmitted || r.SameAs != "") {
			t.Fatalf("entry %d: %+v", i, r)
		}
	}
	keys, sse := bucket.Puts()
	if len(keys) < 1001 {
		t.Errorf("%d objects in the bucket, want an index and 1,000 answers", len(keys))
	}
	for _, k := range keys {
		if sse[k] != "AES256" {
			t.Fatalf("object %s written with encryption %q", k, sse[k])
		}
	}

	other := startBootstrap(t, stack, s3env...)
	for _, i := range []int{0, 499, 998} {
		acct := stack.Accounts[i].ID
		res := other.invoke(t, target+"get_result", map[string]any{"result_id": got.Summary.ResultID, "account_id": acct}, 10*time.Second)
		var page struct {
			Status string          `json:"status"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(res.Response, &page); err != nil || page.Status != "success" || string(page.Data) != answerOf(fakeaws.PayloadText(acct, 8<<10)) {
			t.Errorf("get_result of %s through another process: %.300s (error %s)", acct, res.Response, res.Error)
		}
	}
	again := other.invoke(t, target+"get_result", map[string]any{"result_id": got.Summary.ResultID, "jmespath": "length(Buckets)"}, 30*time.Second)
	var projected budgetedOutput
	if err := json.Unmarshal(again.Response, &projected); err != nil || projected.Summary.Succeeded != 1000 || len(again.Response) > 256<<10 {
		t.Errorf("re-projection through another process: %.300s", again.Response)
	}
}

// TestLambdaFanOutSizesItselfToTheDeadline: with the template's defaults
// (concurrency 16, a 28 s budget), 500 accounts answering in 2 s each need
// 64 s at 16 at a time; the fan-out grows its workers and all answer.
func TestLambdaFanOutSizesItselfToTheDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 15 s")
	}
	stack := newStack(t, 500)
	stack.MCP.SetDefaultLatency(2 * time.Second)
	for _, a := range stack.Accounts {
		// A slow STS makes a cold fan-out's AssumeRole calls overlap, so
		// that their bound is seen.
		stack.STS.SetLatency(a.ID, 100*time.Millisecond)
	}
	f := startBootstrap(t, stack, accountsEnv(stack), "AWS_MCP_CONCURRENCY=16", "AWS_MCP_TIMEOUT=25s")
	got, took := f.timedQueryAll(t, map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	t.Logf("500 accounts × 2 s: %d answered in %s at concurrency %d (max in flight upstream %d, AssumeRole %d, at most %d at once, %d upstream connections)",
		got.Summary.Succeeded, took.Round(time.Millisecond), got.Summary.Concurrency, stack.MCP.MaxInflight(),
		stack.STS.AssumeRoleCount(""), stack.STS.MaxAssumeRoleInflight(), stack.MCP.Connections())
	if got.Summary.Succeeded != 500 {
		t.Errorf("%d of 500 answered in %s, want all within the 28 s budget", got.Summary.Succeeded, took)
	}
	if got.Summary.Concurrency <= 16 || got.Summary.Concurrency > 128 {
		t.Errorf("concurrency %d: want it raised above 16, to at most 128", got.Summary.Concurrency)
	}
	if stack.MCP.MaxInflight() > 128 {
		t.Errorf("%d upstream calls in flight, over --max-concurrency", stack.MCP.MaxInflight())
	}
	// Connections are reused as the workers grow: the idle pool is sized
	// to --max-concurrency, not the starting concurrency (335 connections
	// when it was, each a TLS handshake against AWS).
	if n := stack.MCP.Connections(); n > 2*got.Summary.Concurrency {
		t.Errorf("%d upstream connections for %d workers: connections are not reused", n, got.Summary.Concurrency)
	}
	if n := stack.STS.AssumeRoleCount(""); n != 500 {
		t.Errorf("%d AssumeRole calls, want one per account (500)", n)
	}
	if n := stack.STS.MaxAssumeRoleInflight(); n > got.Summary.Concurrency || n > 128 {
		t.Errorf("%d AssumeRole calls in flight at once, over the %d workers (at most 128)", n, got.Summary.Concurrency)
	}
}

// TestLambdaScriptsOfTenSecondsAnswerInTheBudget: 500 accounts whose
// scripts take 10 s (answered in one call, as the AWS MCP Server does for
// runs of 13-15 s; tasks are TestScriptTasksArePolledToTheirEnd's), with
// the template's defaults
// (Concurrency 16, MaxConcurrency 512, CallTimeout 25s, a 28 s budget):
// the fan-out grows once the first answers show how slow they are, and
// every account answers inside the invocation budget.
func TestLambdaScriptsOfTenSecondsAnswerInTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 25 s")
	}
	n := 500
	stack := newTodayStack(t, n)
	stack.MCP.RecordCalls(false)
	stack.MCP.SetScriptTasks(time.Minute, 1)
	f := startBootstrap(t, stack, accountsEnv(stack), "AWS_MCP_CONCURRENCY=16", "AWS_MCP_MAX_CONCURRENCY=512", "AWS_MCP_TIMEOUT=25s")
	got, took := f.timedQueryAll(t, map[string]any{"tool_name": "aws___run_script",
		"arguments": scriptArgs("await asyncio.sleep(10)\nresp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp")})
	t.Logf("%d accounts × 10 s scripts: %d answered in %s at concurrency %d", n, got.Summary.Succeeded, took.Round(time.Millisecond), got.Summary.Concurrency)
	if got.Summary.Succeeded != n {
		t.Errorf("%d of %d answered in %s, want all within the 28 s budget", got.Summary.Succeeded, n, took)
	}
}

// fanoutSummary is what the deadline tests read of a query_all answer.
type fanoutSummary struct {
	Summary struct {
		Succeeded, Failed, Concurrency int
	} `json:"summary"`
}

// timedQueryAll invokes the bridge's query_all (60 s at most) and returns
// its summary and how long the invocation took.
func (f *lambdaFixture) timedQueryAll(t *testing.T, args map[string]any) (fanoutSummary, time.Duration) {
	t.Helper()
	start := time.Now()
	out := f.invoke(t, "bridge-lambda___query_all", args, 60*time.Second)
	took := time.Since(start)
	var got fanoutSummary
	if err := json.Unmarshal(out.Response, &got); err != nil {
		t.Fatalf("response %.300s: %v", out.Response, err)
	}
	return got, took
}

// TestLambdaBridgeAssumesEachRoleOnce: a warm bridge runs every fan-out,
// whatever its tool, in each account's one fan-out session: a script
// fan-out then a list_regions fan-out over 20 accounts assume 20 roles.
func TestLambdaBridgeAssumesEachRoleOnce(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 20)
	f := startBootstrap(t, stack, accountsEnv(stack), "AWS_MCP_INVOCATION_BUDGET=5m")
	const target = "bridge-lambda___"
	for _, args := range []map[string]any{
		{"tool_name": "aws___run_script", "arguments": scriptArgs(describeInstancesScript)},
		{"tool_name": "aws___list_regions", "arguments": map[string]any{}},
	} {
		out := f.invoke(t, target+"query_all", args, 5*time.Minute)
		var got budgetedOutput
		if err := json.Unmarshal(out.Response, &got); err != nil || got.Summary.Succeeded != 20 {
			t.Fatalf("query_all of %s: %.300s (error %s)", args["tool_name"], out.Response, out.Error)
		}
	}
	// One more for the upstream's tool list (read once, through one account).
	if n := stack.STS.AssumeRoleCount(""); n > 21 {
		t.Errorf("%d AssumeRole calls for two fan-outs over 20 accounts, want 20 (and one for the tool list)", n)
	}
}
