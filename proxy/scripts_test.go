package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

const readOnlyAccess = "arn:aws:iam::aws:policy/ReadOnlyAccess"

// scriptService wires the core against fakes with today's tool list, as
// the entrypoint does: ReadOnlyAccess is the read-only session policy.
func scriptService(t testing.TB, stack *fakeaws.Stack, cfg Config) *Service {
	t.Helper()
	return wireScriptService(t, stack, cfg, nil)
}

func wireScriptService(t testing.TB, stack *fakeaws.Stack, cfg Config, poolOpts func(*upstream.Options)) *Service {
	t.Helper()
	svc, _ := wireTestService(t, stack, cfg, poolOpts, func(o *auth.Options) {
		o.ReadOnlyPolicyARNs = []string{readOnlyAccess}
		if cfg.ReadOnly {
			o.PolicyARNs = []string{readOnlyAccess}
		}
	})
	return svc
}

func script(code string) json.RawMessage {
	out, _ := json.Marshal(map[string]string{"code": code})
	return out
}

func boto(service, operation, params string) json.RawMessage {
	if params == "" {
		params = "None"
	}
	return script(fmt.Sprintf("resp = await call_boto3(service_name=%q, operation_name=%q, params=%s)\nresp", service, operation, params))
}

func runScriptAll(t *testing.T, svc *Service, args json.RawMessage) *results.Answer {
	t.Helper()
	out, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: RunScriptTool, Arguments: args}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestScriptFanoutRunsInTheFanoutSession: every AssumeRole of a script
// fan-out carries the managed read-only policy and the inline deny; a
// second fan-out assumes nothing; jmespath applies to the return_value.
func TestScriptFanoutRunsInTheFanoutSession(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(12)})
	defer stack.Close()
	svc := scriptService(t, stack, Config{})
	args := boto("ec2", "DescribeInstances", "")
	out := runScriptAll(t, svc, args)
	if out.Summary.Succeeded != 12 {
		t.Fatalf("%+v", out.Summary)
	}
	calls := stack.STS.Calls()
	if len(calls) != 12 {
		t.Fatalf("%d AssumeRole calls, want 12", len(calls))
	}
	for _, c := range calls {
		if len(c.PolicyARNs) != 1 || c.PolicyARNs[0] != readOnlyAccess || c.Policy != guard.SecretDenyPolicy() {
			t.Errorf("account %s: PolicyArns %v, Policy %q; want ReadOnlyAccess and the secret deny", c.Account, c.PolicyARNs, c.Policy)
		}
	}
	projected, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: RunScriptTool, Arguments: args,
		JMESPath: "Reservations[].Instances[].InstanceId"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(stack.STS.Calls()); n != 12 {
		t.Errorf("the second fan-out made %d AssumeRole calls, want 0", n-12)
	}
	for _, e := range projected.Results {
		var ids []string
		if err := json.Unmarshal([]byte(results.Text(e.Data)), &ids); err != nil {
			t.Fatalf("account %s: %v in %s", e.AccountID, err, e.Data)
		}
		if want := fakeaws.InstanceIDs(e.AccountID); strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("account %s: projected %v, want %v", e.AccountID, ids, want)
		}
	}
}

// TestScriptWritesAreBoundedByIAM: a write inside a fanned-out script is
// denied by IAM in every account, unless write fan-out is allowed; query
// in one account runs it, unless read-only mode is on.
func TestScriptWritesAreBoundedByIAM(t *testing.T) {
	t.Parallel()
	terminate := boto("ec2", "TerminateInstances", `{"InstanceIds": ["i-1"]}`)
	tests := []struct {
		name     string
		cfg      Config
		fanout   bool
		executed int // of 6 accounts (1 for query)
	}{
		{"query_all, default", Config{}, true, 0},
		{"query_all, --allow-write-fanout", Config{AllowWriteFanout: true}, true, 6},
		{"query_all, --read-only and --allow-write-fanout", Config{ReadOnly: true, AllowWriteFanout: true}, true, 0},
		{"query, default", Config{}, false, 1},
		{"query, --read-only", Config{ReadOnly: true}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(6)})
			defer stack.Close()
			svc := scriptService(t, stack, tt.cfg)
			var entries []results.Entry
			if tt.fanout {
				out := runScriptAll(t, svc, terminate)
				entries = out.Results
				if tt.executed == 0 && (len(out.Warnings) == 0 || !strings.Contains(strings.Join(out.Warnings, " "), "read-only")) {
					t.Errorf("warnings %q: want one saying fan-outs run read-only", out.Warnings)
				}
			} else {
				res, err := svc.Query(context.Background(), QueryRequest{AccountID: stack.Accounts[0].ID, ToolName: RunScriptTool, Arguments: terminate})
				if err != nil {
					t.Fatal(err)
				}
				entries = []results.Entry{res.Entry}
			}
			if n := stack.MCP.Executed("TerminateInstances"); n != tt.executed {
				t.Errorf("TerminateInstances executed in %d accounts, want %d", n, tt.executed)
			}
			for _, e := range entries {
				wantDenied := tt.executed == 0
				if denied := e.Status == StatusError && e.ErrorCode == CodeAccessDenied && strings.Contains(e.Error, "ec2:TerminateInstances"); denied != wantDenied {
					t.Errorf("account %s: %s %s %s, want denied=%v", e.AccountID, e.Status, e.ErrorCode, e.Error, wantDenied)
				}
			}
		})
	}
}

// TestSecretReadsAreDeniedInFanouts: the secret-bearing reads run in no
// account of a fan-out and no secret reaches the answer, unless
// --allow-secret-fanout is set.
func TestSecretReadsAreDeniedInFanouts(t *testing.T) {
	t.Parallel()
	reads := []struct{ service, operation, params string }{
		{"secretsmanager", "GetSecretValue", `{"SecretId": "db"}`},
		{"ssm", "GetParameter", `{"Name": "/db/password", "WithDecryption": True}`},
		{"ecr", "GetAuthorizationToken", ""},
		{"ec2", "GetPasswordData", `{"InstanceId": "i-1"}`},
	}
	for _, allow := range []bool{false, true} {
		for _, r := range reads {
			t.Run(fmt.Sprintf("%s allow=%v", r.operation, allow), func(t *testing.T) {
				t.Parallel()
				stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(4)})
				defer stack.Close()
				svc := scriptService(t, stack, Config{AllowSecretFanout: allow})
				out := runScriptAll(t, svc, boto(r.service, r.operation, r.params))
				want := 0
				if allow {
					want = 4
				}
				if n := stack.MCP.Executed(r.operation); n != want {
					t.Errorf("%s executed in %d accounts, want %d", r.operation, n, want)
				}
				if leaked := strings.Contains(wholeAnswers(out), fakeaws.SecretPrefix); leaked != allow {
					t.Errorf("secret in the answer: %v, want %v", leaked, allow)
				}
				if !allow && out.Summary.Failed != 4 {
					t.Errorf("%+v: want every account denied", out.Summary)
				}
			})
		}
	}
}

// TestScriptTasksArePolledToTheirEnd: scripts that become tasks answer
// with their final result; no task handle reaches the agent; every
// get_tasks call names at most 3 ids.
func TestScriptTasksArePolledToTheirEnd(t *testing.T) {
	t.Parallel()
	for _, shape := range []fakeaws.TaskShape{fakeaws.TaskNested, fakeaws.TaskFlat} {
		t.Run(fmt.Sprintf("shape %d", shape), func(t *testing.T) {
			t.Parallel()
			scriptTasksPolledToTheirEnd(t, shape)
		})
	}
}

// scriptTasksPolledToTheirEnd runs 50 long scripts against get_tasks
// answering in shape.
func scriptTasksPolledToTheirEnd(t *testing.T, shape fakeaws.TaskShape) {
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(50)})
	defer stack.Close()
	stack.MCP.SetScriptTasks(time.Second, 1)
	stack.MCP.SetTaskShape(shape)
	svc := scriptService(t, stack, Config{Concurrency: 50})
	out := runScriptAll(t, svc, script("import asyncio\nawait asyncio.sleep(3)\nresp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp"))
	if out.Summary.Succeeded != 50 {
		t.Fatalf("%+v", out.Summary)
	}
	if raw := wholeAnswers(out); strings.Contains(raw, "task_id") || strings.Contains(raw, `\"working\"`) {
		t.Errorf("a task handle reached the answer")
	}
	for _, e := range out.Results {
		if !strings.Contains(string(e.Value()), `"Account":"`+e.AccountID+`"`) {
			t.Errorf("account %s: %s, want its caller identity", e.AccountID, e.Value())
		}
	}
	polls := 0
	for _, c := range stack.MCP.Calls() {
		if c.Tool != fakeaws.ToolGetTasks {
			continue
		}
		polls++
		if ids, _ := c.Arguments["task_ids"].([]any); len(ids) == 0 || len(ids) > 3 {
			t.Errorf("get_tasks with %d ids", len(ids))
		}
	}
	if polls < 50 {
		t.Errorf("%d get_tasks calls for 50 tasks", polls)
	}
}

// TestUnreadableTaskAnswersAreSaid: a get_tasks answer of a shape nobody
// guessed makes each account's entry say so, and the log names its fields
// (never its values) once.
func TestUnreadableTaskAnswersAreSaid(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(5)})
	defer stack.Close()
	stack.MCP.SetScriptTasks(time.Millisecond, 0.1)
	stack.MCP.SetTaskShape(fakeaws.TaskUnknown)
	var logged bytes.Buffer
	svc := scriptService(t, stack, Config{Concurrency: 5})
	svc.log = slog.New(slog.NewTextHandler(&logged, nil))
	out := runScriptAll(t, svc, script("import asyncio\nawait asyncio.sleep(1)\nresp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp"))
	for _, e := range out.Results {
		if e.Status != StatusError || !strings.Contains(e.Error, "the task's answer was unreadable") {
			t.Errorf("account %s: %s %s", e.AccountID, e.Status, e.Error)
		}
	}
	var line string
	for _, l := range strings.Split(logged.String(), "\n") {
		if strings.Contains(l, "cannot read") {
			line = l
		}
	}
	if n := strings.Count(logged.String(), "cannot read"); n != 1 || !strings.Contains(line, "tasks.output.return_value") ||
		strings.Contains(line, "2000000000") || strings.Contains(line, "arn:") {
		t.Errorf("logged %d times, or not the field names, or a value:\n%s", n, line)
	}
}

// TestCancellationStopsTaskPolling: once the caller cancels, no account
// polls its task again.
func TestCancellationStopsTaskPolling(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(5)})
	defer stack.Close()
	stack.MCP.SetScriptTasks(time.Second, 0.2)
	svc := scriptService(t, stack, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer cancel()
		for range 2000 {
			for _, c := range stack.MCP.Calls() {
				if c.Tool == fakeaws.ToolGetTasks {
					close(polled)
					return
				}
			}
			time.Sleep(5 * time.Millisecond) // polling the fake's call log, not synchronising
		}
	}()
	out, err := svc.QueryAll(ctx, QueryAllRequest{ToolName: RunScriptTool, Arguments: script("await asyncio.sleep(600)")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-polled:
	case <-time.After(30 * time.Second): // the poller gave up after 10 s and cancelled
		t.Fatal("no account polled its task (no get_tasks call) before the fan-out was cancelled")
	}
	count := func() int {
		n := 0
		for _, c := range stack.MCP.Calls() {
			if c.Tool == fakeaws.ToolGetTasks {
				n++
			}
		}
		return n
	}
	after := count()
	svc.Close(context.Background())
	if out.Summary.Succeeded != 0 || out.Summary.Failed != 5 {
		t.Errorf("%+v: want every account cancelled", out.Summary)
	}
	if n := count(); n != after {
		t.Errorf("%d get_tasks calls after the fan-out was cancelled", n-after)
	}
}

// pacingRegions are 20 target regions: twice what an account may send in
// a second.
var pacingRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-central-1", "eu-north-1", "eu-south-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
	"ap-northeast-2", "ap-northeast-3", "ca-central-1", "sa-east-1", "me-south-1", "af-south-1"}

// TestAccountsArePacedWithinTheQuota: 10 accounts × 20 regions against an
// upstream that allows each account 10 requests a second (the published
// quota), at the default pacing: all answer, and few requests are refused
// with 429.
func TestAccountsArePacedWithinTheQuota(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(10)})
	defer stack.Close()
	stack.MCP.SetAccountRateLimit(10, 10)
	svc := pacedService(t, stack, upstream.DefaultAccountRPS, upstream.DefaultAccountConcurrency)
	out, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: RunScriptTool,
		Arguments: boto("sts", "GetCallerIdentity", ""), Regions: pacingRegions}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Summary.Succeeded != 200 {
		t.Fatalf("%+v", out.Summary)
	}
	sent, throttled := 0, 0
	for _, a := range stack.Accounts {
		s, th := stack.MCP.Requests(a.ID)
		sent, throttled = sent+s, throttled+th
	}
	if throttled*20 > sent {
		t.Errorf("%d of %d requests got 429, want at most 5%%", throttled, sent)
	}
	t.Logf("%d requests, %d refused with 429", sent, throttled)
}

// pacedService is a script service whose pool paces each account.
func pacedService(t testing.TB, stack *fakeaws.Stack, rps float64, inflight int) *Service {
	t.Helper()
	return wireScriptService(t, stack, Config{Concurrency: 64}, func(o *upstream.Options) {
		o.AccountRPS, o.AccountConcurrency = rps, inflight
	})
}

// TestRemovedToolsAreNamed: a tool the upstream does not list is a tool
// error before any call, naming what it offers instead.
func TestRemovedToolsAreNamed(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(40)})
	defer stack.Close()
	svc := scriptService(t, stack, Config{})
	tests := []struct {
		tool string
		want string
	}{
		{CallAWSTool, "use aws___run_script"},
		{"aws___no_such_tool", "it offers aws___get_presigned_url, aws___get_regional_availability, aws___get_tasks"},
	}
	for _, tt := range tests {
		_, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: tt.tool, Arguments: callerArgs}, nil)
		if !errors.Is(err, ErrToolNotListed) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.tool, err, tt.want)
		}
		_, err = svc.Query(context.Background(), QueryRequest{AccountID: stack.Accounts[0].ID, ToolName: tt.tool, Arguments: callerArgs})
		if !errors.Is(err, ErrToolNotListed) {
			t.Errorf("query %s: %v, want ErrToolNotListed", tt.tool, err)
		}
	}
	if n := stack.MCP.CallCount(""); n != 0 {
		t.Errorf("%d upstream tool calls, want 0", n)
	}
}

// TestProfileAccountsRefuseUnboundedScripts: an account signed with its
// profile's own credentials cannot carry the fan-out session policy, so a
// script fan-out fails there with a reason, and runs in the role accounts.
func TestProfileAccountsRefuseUnboundedScripts(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	svc := scriptService(t, stack, Config{})
	dir, err := accounts.NewDirectory(nil, accounts.Static{
		{ID: stack.Accounts[0].ID, Name: "role", Source: accounts.SourceEnv},
		{ID: stack.Accounts[1].ID, Name: "profile", Source: accounts.SourceProfile, Profile: "prod"},
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := &AccountCredentials{Roles: svc.creds.(*AccountCredentials).Roles, Profiles: staticProfiles{stack}}
	svc = New(svc.cfg, dir, creds, svc.pool, svc.log)
	out := runScriptAll(t, svc, boto("sts", "GetCallerIdentity", ""))
	byID := map[string]results.Entry{}
	for _, e := range out.Results {
		byID[e.AccountID] = e
	}
	if e := byID[stack.Accounts[0].ID]; e.Status != StatusSuccess {
		t.Errorf("role account: %+v", e)
	}
	if e := byID[stack.Accounts[1].ID]; e.ErrorCode != CodeNoSessionPolicy || !strings.Contains(e.Error, `profile "prod"`) {
		t.Errorf("profile account: %+v, want a no_session_policy error naming the profile", e)
	}
}

type staticProfiles struct{ stack *fakeaws.Stack }

func (p staticProfiles) ForProfile(context.Context, string) (aws.CredentialsProvider, error) {
	return p.stack.BaseCredentials(), nil
}

// BenchmarkPacedRegions measures the 10 accounts × 20 regions fan-out
// against an upstream allowing each account 10 requests a second, paced
// at the defaults: wall time against what the pacing allows (the busiest
// account's requests beyond the bucket, at the rate), and the share of
// requests refused with 429. Run: go test ./proxy -run '^$' -bench PacedRegions.
func BenchmarkPacedRegions(b *testing.B) {
	regions := pacingRegions
	rps := float64(upstream.DefaultAccountRPS)
	for range b.N {
		b.StopTimer()
		stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(10)})
		stack.MCP.SetAccountRateLimit(rps, int(rps))
		svc := pacedService(b, stack, rps, upstream.DefaultAccountConcurrency)
		b.StartTimer()
		start := time.Now()
		out, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: RunScriptTool,
			Arguments: boto("sts", "GetCallerIdentity", ""), Regions: regions}, nil)
		wall := time.Since(start)
		b.StopTimer()
		if err != nil || out.Summary.Succeeded != 200 {
			b.Fatalf("%v %+v", err, out)
		}
		busiest, sent, throttled := 0, 0, 0
		for _, a := range stack.Accounts {
			s, th := stack.MCP.Requests(a.ID)
			busiest, sent, throttled = max(busiest, s-th), sent+s, throttled+th
		}
		allowed := time.Duration(float64(busiest-int(rps)) / rps * float64(time.Second))
		b.ReportMetric(wall.Seconds()/allowed.Seconds(), "x_paced")
		b.ReportMetric(100*float64(throttled)/float64(sent), "%429")
		b.ReportMetric(float64(wall.Milliseconds()), "wall_ms")
		svc.pool.Close(context.Background())
		stack.Close()
	}
}

// wholeAnswers is everything a fan-out's answer holds: each entry's whole
// upstream result (as get_result raw reads it) and its error.
func wholeAnswers(a *results.Answer) string {
	var b strings.Builder
	for _, e := range a.Results {
		b.Write(e.Raw())
		b.WriteString(e.Error)
	}
	return b.String()
}

// TestPollSpacing: however many tasks wait, the process polls at most
// taskPollsPerCore a second per core; a task waits at least its share.
func TestPollSpacing(t *testing.T) {
	t.Parallel()
	perSecond := int64(taskPollsPerCore * runtime.GOMAXPROCS(0))
	for waiting, want := range map[int64]time.Duration{
		0:             0,
		perSecond / 2: time.Second / 2,
		perSecond:     time.Second,
		3 * perSecond: 3 * time.Second,
	} {
		if got := pollSpacing(waiting); got != want {
			t.Errorf("pollSpacing(%d) = %s, want %s", waiting, got, want)
		}
	}
}
