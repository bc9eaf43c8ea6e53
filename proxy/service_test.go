package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/testutil"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// testService wires the core in-process against the fakes, as the
// entrypoint does, with fast SDK retries.
func testService(t testing.TB, stack *fakeaws.Stack, cfg Config, storeOpts ...func(*auth.Options)) (*Service, *upstream.Pool) {
	t.Helper()
	return wireTestService(t, stack, cfg, nil, storeOpts...)
}

// wireTestService is testService with the pool's options adjusted by
// poolOpts (when not nil).
func wireTestService(t testing.TB, stack *fakeaws.Stack, cfg Config, poolOpts func(*upstream.Options), storeOpts ...func(*auth.Options)) (*Service, *upstream.Pool) {
	t.Helper()
	stsClient := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(stack.STSURL),
		Credentials:  stack.BaseCredentials(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 4
			o.MaxBackoff = 20 * time.Millisecond
		}),
	})
	var accts accounts.Static
	for _, a := range stack.Accounts {
		accts = append(accts, accounts.Account{ID: a.ID, Name: a.Name, Source: accounts.SourceEnv})
	}
	dir, err := accounts.NewDirectory(nil, accts)
	if err != nil {
		t.Fatal(err)
	}
	opts := upstream.Options{
		Endpoint: stack.MCPURL, SigningRegion: "us-east-1", MaxResponseBytes: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if poolOpts != nil {
		poolOpts(&opts)
	}
	pool, err := upstream.NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close(context.Background()) })
	creds := &AccountCredentials{Roles: auth.NewStore(stsClient, storeOpts...)}
	return New(cfg, dir, creds, pool, slog.New(slog.NewTextHandler(io.Discard, nil))), pool
}

var callerArgs = json.RawMessage(`{"cli_command":"aws sts get-caller-identity"}`)

func queryAll(t *testing.T, svc *Service) *results.Answer {
	t.Helper()
	out, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: CallAWSTool, Arguments: callerArgs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSTSThrottlingIsRetriedBySDK(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(3)})
	defer stack.Close()
	throttled := stack.Accounts[1].ID
	stack.STS.Throttle(throttled, 2)
	svc, _ := testService(t, stack, Config{})
	out := queryAll(t, svc)
	if out.Summary.Succeeded != 3 {
		t.Fatalf("summary %+v: %+v", out.Summary, out.Results)
	}
	if n := stack.STS.AssumeRoleCount(throttled); n != 3 {
		t.Errorf("throttled account: %d AssumeRole calls, want 3 (2 throttled, then success)", n)
	}
}

// TestCredentialsRefreshBeforeTheExpiryWindow: credentials are refreshed
// once less than 5 minutes of their life remain, and reused until then.
func TestCredentialsRefreshBeforeTheExpiryWindow(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	// 3 s of use before the 5-minute window starts: the two fan-outs below
	// must finish within it even on a busy machine (they take milliseconds
	// on a quiet one). The SDK's cache reads the wall clock, so the test
	// waits on it (a sleep standing in for a clock it cannot be given).
	stack.STS.SetLifetime(5*time.Minute + 3*time.Second)
	svc, _ := testService(t, stack, Config{})
	queryAll(t, svc)
	queryAll(t, svc)
	if n := stack.STS.AssumeRoleCount(""); n != 2 {
		t.Fatalf("%d AssumeRole calls while the credentials are fresh, want 2", n)
	}
	time.Sleep(3500 * time.Millisecond) // let the credentials enter the window (see above)
	if out := queryAll(t, svc); out.Summary.Failed != 0 {
		t.Fatalf("%+v", out.Results)
	}
	if n := stack.STS.AssumeRoleCount(""); n != 4 {
		t.Errorf("%d AssumeRole calls after entering the window, want 4 (one refresh per account)", n)
	}
}

// TestExpiredTokenFromUpstreamRefreshesOnce: credentials revoked while the
// cache still holds them get one refresh and retry.
func TestExpiredTokenFromUpstreamRefreshesOnce(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	svc, _ := testService(t, stack, Config{})
	queryAll(t, svc)
	expired := stack.Accounts[0].ID
	stack.Keys.ExpireAccount(expired)
	out := queryAll(t, svc)
	if out.Summary.Failed != 0 {
		t.Fatalf("after expiry: %+v", out.Results)
	}
	if n := stack.STS.AssumeRoleCount(expired); n != 2 {
		t.Errorf("expired account: %d AssumeRole calls, want 2 (one refresh)", n)
	}
	if n := stack.STS.AssumeRoleCount(stack.Accounts[1].ID); n != 1 {
		t.Errorf("other account: %d AssumeRole calls, want 1", n)
	}
}

// TestSTSUnavailable: accounts with cached credentials go on; the others
// get a clear error.
func TestSTSUnavailable(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(4)})
	defer stack.Close()
	svc, _ := testService(t, stack, Config{})
	warm := stack.Accounts[0]
	// A fan-out runs in the fan-out session of each account: warm that one.
	if res, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: CallAWSTool, Arguments: callerArgs,
		Selector: accounts.Selector{Accounts: []string{warm.ID}}}, nil); err != nil || res.Summary.Succeeded != 1 {
		t.Fatal(res, err)
	}
	stack.STS.SetUnavailable(true)
	out := queryAll(t, svc)
	for _, r := range out.Results {
		if r.AccountID == warm.ID {
			if r.Status != StatusSuccess {
				t.Errorf("warm account failed: %s", r.Error)
			}
			continue
		}
		if r.Status != StatusError || r.ErrorCode != CodeCredentials || !strings.Contains(r.Error, "ServiceUnavailable") || !strings.Contains(r.Error, "assume role arn:aws:iam::"+r.AccountID) {
			t.Errorf("account %s: %+v, want a clear STS error", r.AccountID, r)
		}
	}
}

// TestCancelledFanOutLosesNoResult: cancelling mid-run abandons calls in
// flight and still reports every target.
func TestCancelledFanOutLosesNoResult(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(40)})
	defer stack.Close()
	stack.MCP.SetDefaultLatency(time.Minute)
	svc, _ := testService(t, stack, Config{Concurrency: 8})
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Bool
	go func() {
		defer cancel() // at the latest after 30 s: the test then fails on started, it never hangs
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			if stack.MCP.Inflight() >= 8 {
				started.Store(true)
				return
			}
			time.Sleep(5 * time.Millisecond) // polling the fake, not synchronising
		}
	}()
	out, err := svc.QueryAll(ctx, QueryAllRequest{ToolName: CallAWSTool, Arguments: callerArgs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !started.Load() {
		t.Fatal("the fan-out ended before it was cancelled, or 8 calls were never in flight within 30 s")
	}
	if len(out.Results) != 40 || out.Summary.Failed != 40 {
		t.Fatalf("%d results, summary %+v", len(out.Results), out.Summary)
	}
	for _, r := range out.Results {
		if r.ErrorCode != CodeCancelled || r.AccountID == "" {
			t.Errorf("result %+v, want a cancelled entry", r)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the fake sees the 8 requests in flight aborted", func() bool { return stack.MCP.Aborted() >= 8 })
	if n := stack.MCP.Aborted(); n != 8 {
		t.Errorf("the fake saw %d aborted requests, want the 8 in flight", n)
	}
}

func TestProgressIsReportedPerTarget(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(5)})
	defer stack.Close()
	svc, _ := testService(t, stack, Config{Concurrency: 2})
	var calls, last atomic.Int64
	_, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: CallAWSTool, Arguments: callerArgs, Regions: []string{"us-east-1", "us-west-2"}},
		func(done, total int) {
			calls.Add(1)
			if total != 10 {
				t.Errorf("total %d, want 10", total)
			}
			if int64(done) != last.Load()+1 {
				t.Errorf("progress %d after %d: it must grow by one per report", done, last.Load())
			}
			last.Store(int64(done))
		})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 10 || last.Load() != 10 {
		t.Errorf("progress called %d times, last %d; want 10 and 10", calls.Load(), last.Load())
	}
}
