package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

// tagScript tags an instance: a write, counted by the fake as an executed
// ec2:CreateTags.
const tagScript = "resp = await call_boto3(service_name='ec2', operation_name='CreateTags', " +
	"params={'Resources': ['i-0123'], 'Tags': [{'Key': 'owner', 'Value': 'platform'}]})\nresp"

// changePlan mirrors the plan change_all returns.
type changePlan struct {
	ChangeID        string `json:"change_id"`
	ToolName        string `json:"tool_name"`
	ArgumentsSHA256 string `json:"arguments_sha256"`
	TargetCount     int    `json:"target_count"`
	Accounts        int    `json:"accounts"`
	Targets         []struct {
		AccountID string `json:"account_id"`
		Region    string `json:"region"`
		Canary    bool   `json:"canary"`
	} `json:"targets"`
	Bounds struct {
		Canary         int `json:"canary"`
		MaxConcurrency int `json:"max_concurrency"`
		MaxErrors      int `json:"max_errors"`
	} `json:"bounds"`
	Excluded int `json:"excluded"`
	Preview  *struct {
		Summary struct {
			Total     int `json:"total"`
			Succeeded int `json:"succeeded"`
		} `json:"summary"`
	} `json:"preview"`
}

func changeArgs(rollout map[string]any) map[string]any {
	args := map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(tagScript)}
	if rollout != nil {
		args["rollout"] = rollout
	}
	return args
}

func plan(t *testing.T, res *mcp.CallToolResult) changePlan {
	t.Helper()
	if res.IsError {
		t.Fatalf("change_all: %s", text(res))
	}
	var p changePlan
	structured(t, res, &p)
	if p.ChangeID == "" {
		t.Fatalf("no change_id in the plan: %s", text(res))
	}
	return p
}

// TestChangeRollsOutCanaryFirstWithinItsBounds is the rollout of the
// issue: 40 accounts, a writing script, canary 1, max_concurrency 5,
// max_errors 0, the 7th account in order denied. The accounts after it
// are held in the fake until the server has told (progress 7/40) that
// the first 7 have finished, so the ones that ran after the failure are
// exactly those in flight when it was counted.
func TestChangeRollsOutCanaryFirstWithinItsBounds(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 40)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "--allow-changes")

	pl := plan(t, p.call(t, "change_all", changeArgs(map[string]any{"canary": 1, "max_concurrency": 5, "max_errors": 0})))
	if got := stack.MCP.Executed("CreateTags"); got != 0 || len(stack.MCP.Calls()) != 0 {
		t.Fatalf("planning executed %d writes (%d tool calls), want none", got, len(stack.MCP.Calls()))
	}
	if pl.TargetCount != 40 || len(pl.Targets) != 40 || !pl.Targets[0].Canary || pl.Targets[1].Canary ||
		pl.Bounds.Canary != 1 || pl.Bounds.MaxConcurrency != 5 || pl.Bounds.MaxErrors != 0 || len(pl.ArgumentsSHA256) != 64 {
		t.Fatalf("plan = %+v", pl)
	}
	order := make([]string, len(pl.Targets))
	for i, tg := range pl.Targets {
		order[i] = tg.AccountID
	}
	denied := order[6]
	stack.MCP.DenyActions(denied, "ec2:CreateTags")
	release := stack.MCP.HoldAccounts(order[7:]...)
	defer release()
	p.client.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			if done, _ := n.Params.AdditionalFields["progress"].(float64); done >= 7 {
				release()
			}
		}
	})
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "apply_change", map[string]any{"change_id": pl.ChangeID}
	req.Params.Meta = &mcp.Meta{ProgressToken: "rollout"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := p.client.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("apply_change: %v %s\n%s", err, text(res), p.stderr.String())
	}
	var out queryAllOutput
	structured(t, res, &out)

	// The canary ran first and alone.
	var events []fakeaws.CallEvent
	for _, e := range stack.MCP.Timeline() {
		if e.Tool == "aws___run_script" {
			events = append(events, e)
		}
	}
	if len(events) < 2 || events[0].Account != order[0] || !events[0].Start || events[1].Account != order[0] || events[1].Start {
		t.Errorf("the canary %s did not run alone before any other: %+v", order[0], events[:min(3, len(events))])
	}
	peak := 0
	for _, e := range events {
		peak = max(peak, e.Inflight)
	}
	if peak > 5 {
		t.Errorf("%d targets ran at once, want at most 5", peak)
	}

	// Every target is success, error or skipped; the denied one failed;
	// after it, only those in flight ran, and the rest were skipped.
	if len(out.Results) != 40 {
		t.Fatalf("%d results, want 40: %s", len(out.Results), text(res))
	}
	ranAfter, succeeded := 0, 0
	for i, r := range out.Results {
		if r.AccountID != order[i] {
			t.Errorf("result %d is %s, want the plan's order (%s)", i, r.AccountID, order[i])
		}
		switch {
		case i < 6 && r.Status != "success":
			t.Errorf("target %d (%s) before the failure: %s %s", i, r.AccountID, r.Status, r.Error)
		case i == 6 && (r.Status != "error" || r.ErrorCode != "access_denied"):
			t.Errorf("the denied account: %s %s %s", r.Status, r.ErrorCode, r.Error)
		case i > 6 && r.Status != "skipped":
			ranAfter++
		}
		switch r.Status {
		case "success":
			succeeded++
		case "error", "skipped":
		default:
			t.Errorf("target %s ended %q", r.AccountID, r.Status)
		}
		if r.Status == "skipped" && r.SameAs == "" && !strings.Contains(r.Error, "failure budget") {
			t.Errorf("skipped without the reason: %q", r.Error)
		}
	}
	if ranAfter > 4 {
		t.Errorf("%d targets after the failure ran, want at most the 4 in flight when it was counted", ranAfter)
	}
	if out.Summary.Skipped != 33-ranAfter || out.Summary.Failed != 1 || out.Summary.Succeeded != succeeded {
		t.Errorf("summary = %+v (ran after the failure: %d)", out.Summary, ranAfter)
	}
	if got := stack.MCP.Executed("CreateTags"); got != succeeded {
		t.Errorf("the fake executed %d writes, want %d (the successful targets)", got, succeeded)
	}
	if ran := len(events) / 2; ran != 7+ranAfter {
		t.Errorf("the fake saw %d calls, want %d", ran, 7+ranAfter)
	}

	// One audit line per target, with the change and the hash: a call
	// for each that ran, a skip for each that did not.
	audits := func(what string) int {
		n := 0
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(line, what) && strings.Contains(line, "change_id="+pl.ChangeID) &&
				strings.Contains(line, "arguments_sha256="+pl.ArgumentsSHA256) {
				n++
			}
		}
		return n
	}
	waitUntil(t, func() bool { return strings.Contains(p.stderr.String(), `msg="change applied"`) })
	if n, m := audits("upstream call"), audits("change target skipped"); n != 7+ranAfter || m != 33-ranAfter {
		t.Errorf("%d call and %d skip audit lines of the change, want %d and %d", n, m, 7+ranAfter, 33-ranAfter)
	}
	// Without callers (stdio), the local user: a line per target, and the
	// plan, its start and its outcome.
	if !strings.Contains(p.stderr.String(), `msg="change applied" change_id=`+pl.ChangeID) || audits(" user=") != 40+3 {
		t.Errorf("%d audit lines of the change name the local user, want 43", audits(" user="))
	}

	// The outcome is a stored result; the plan runs once.
	stored := p.call(t, "get_result", map[string]any{"result_id": out.Summary.ResultID})
	var again queryAllOutput
	structured(t, stored, &again)
	if again.Summary.Total != 40 || again.Summary.Skipped != out.Summary.Skipped || again.Summary.Succeeded != succeeded {
		t.Errorf("get_result: %+v", again.Summary)
	}
	if res := p.call(t, "apply_change", map[string]any{"change_id": pl.ChangeID}); !res.IsError || !strings.Contains(text(res), "already applied") {
		t.Errorf("a second apply_change: %s", text(res))
	}
	if got := stack.MCP.Executed("CreateTags"); got != succeeded {
		t.Errorf("after the refused second apply the fake executed %d writes, want %d", got, succeeded)
	}
}

// TestChangeFailureBudgetAsPercentage: max_errors "10%" of 40 targets is
// 4: three failures let all 40 run, five stop the rollout.
func TestChangeFailureBudgetAsPercentage(t *testing.T) {
	t.Parallel()
	for _, failing := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d failing", failing), func(t *testing.T) {
			t.Parallel()
			stack := newTodayStack(t, 40)
			p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "--allow-changes")
			pl := plan(t, p.call(t, "change_all", changeArgs(map[string]any{"max_concurrency": 5, "max_errors": "10%"})))
			if pl.Bounds.MaxErrors != 4 || pl.Bounds.MaxConcurrency != 5 {
				t.Fatalf("bounds %+v, want max_errors 4 of 40", pl.Bounds)
			}
			for i := 1; i <= failing; i++ {
				stack.MCP.DenyActions(pl.Targets[i].AccountID, "ec2:CreateTags")
			}
			res := p.call(t, "apply_change", map[string]any{"change_id": pl.ChangeID})
			var out queryAllOutput
			structured(t, res, &out)
			switch failing {
			case 3:
				if out.Summary.Succeeded != 37 || out.Summary.Failed != 3 || out.Summary.Skipped != 0 {
					t.Errorf("3 failing: %+v, want all 40 run", out.Summary)
				}
			case 5:
				if out.Summary.Failed != 5 || out.Summary.Skipped == 0 || out.Summary.Succeeded+5+out.Summary.Skipped != 40 {
					t.Errorf("5 failing: %+v, want the rollout stopped", out.Summary)
				}
				if !strings.Contains(text(res), "skipped") || !slices.ContainsFunc(out.Warnings, func(w string) bool { return strings.Contains(w, "stopped") }) {
					t.Errorf("the answer does not say the rollout stopped: %s", text(res))
				}
			}
			if got := stack.MCP.Executed("CreateTags"); got != out.Summary.Succeeded {
				t.Errorf("executed %d writes, want %d", got, out.Summary.Succeeded)
			}
		})
	}
}

// elicitor answers elicitation requests with a fixed action and records
// them.
type elicitor struct {
	action  mcp.ElicitationResponseAction
	confirm bool
	mu      sync.Mutex
	asked   []mcp.ElicitationRequest
}

func (e *elicitor) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.asked = append(e.asked, req)
	res := &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: e.action}}
	if e.action == mcp.ElicitationResponseActionAccept {
		res.Content = map[string]any{"confirm": e.confirm}
	}
	return res, nil
}

// TestChangeAsksTheHumanThroughElicitation: a client that declared
// elicitation is asked exactly once, with the tool, the account count and
// the rollout; decline and cancel run nothing, accept runs the rollout.
func TestChangeAsksTheHumanThroughElicitation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		action  mcp.ElicitationResponseAction
		confirm bool
		writes  int
		says    string
	}{
		{"decline", mcp.ElicitationResponseActionDecline, false, 0, "declined by the human: nothing ran"},
		{"cancel", mcp.ElicitationResponseActionCancel, false, 0, "dismissed (not declined): nothing has run, and the plan is kept"},
		{"accept without the confirmation", mcp.ElicitationResponseActionAccept, false, 0, "nothing ran"},
		{"accept", mcp.ElicitationResponseActionAccept, true, 12, "12 of 12 succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stack := newTodayStack(t, 12)
			human := &elicitor{action: tt.action, confirm: tt.confirm}
			p := startProxyWith(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"},
				[]client.ClientOption{client.WithElicitationHandler(human)}, "--allow-changes")
			res := p.call(t, "change_all", changeArgs(map[string]any{"max_concurrency": 4}))
			if res.IsError || !strings.Contains(text(res), tt.says) {
				t.Errorf("change_all answered %s, want %q", text(res), tt.says)
			}
			if len(human.asked) != 1 {
				t.Fatalf("%d elicitation requests, want exactly 1", len(human.asked))
			}
			msg := human.asked[0].Params.Message
			for _, want := range []string{"aws___run_script", "12 accounts", "canary 1", "at most 4 at once", "max_errors 0"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the question does not name %q:\n%s", want, msg)
				}
			}
			if got := stack.MCP.Executed("CreateTags"); got != tt.writes {
				t.Errorf("%d writes executed, want %d", got, tt.writes)
			}
			// The log reaches the pipe after the answer, maybe.
			waitUntil(t, func() bool { return strings.Contains(p.stderr.String(), "change answered") })
			// A dismissed question keeps the plan for apply_change (the
			// client's own prompt for that call is the human's yes); a
			// declined one is gone.
			if tt.action == mcp.ElicitationResponseActionAccept && tt.confirm {
				return
			}
			id := regexp.MustCompile(`chg-[0-9a-f]{32}`).FindString(text(res))
			applied := p.call(t, "apply_change", map[string]any{"change_id": id})
			kept := tt.action == mcp.ElicitationResponseActionCancel
			if applied.IsError == kept {
				t.Errorf("apply_change after %s: %s", tt.name, text(applied))
			}
			if want := map[bool]int{true: 12, false: 0}[kept]; stack.MCP.Executed("CreateTags") != want {
				t.Errorf("apply_change after %s executed %d writes, want %d", tt.name, stack.MCP.Executed("CreateTags"), want)
			}
		})
	}
}

// TestChangePreviewRunsUnderTheReadOnlySession: the preview's AssumeRole
// calls carry the read-only session policies, the change's do not; the
// preview's answers are in the plan.
func TestChangePreviewRunsUnderTheReadOnlySession(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 6)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "--allow-changes", "--allow-write-fanout")
	args := changeArgs(nil)
	args["preview"] = map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(describeInstancesScript),
		"jmespath": "length(Reservations[].Instances[])"}
	res := p.call(t, "change_all", args)
	pl := plan(t, res)
	if pl.Preview == nil || pl.Preview.Summary.Total != 6 || pl.Preview.Summary.Succeeded != 6 {
		t.Fatalf("the plan has no preview answers: %s", text(res))
	}
	// Each account's preview credentials came from an AssumeRole with the
	// read-only policies; the only other one listed the upstream's tools.
	planned := stack.STS.Calls()
	readOnly := map[string]bool{}
	for _, c := range planned {
		if slices.Equal(c.PolicyARNs, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) && strings.Contains(c.Policy, `"Deny"`) {
			readOnly[c.Account] = true
		}
	}
	if len(readOnly) != 6 || len(planned) > 7 {
		t.Errorf("AssumeRole calls of the plan: %+v; want the read-only fan-out session in each of the 6 accounts (even with --allow-write-fanout)", planned)
	}
	if got := stack.MCP.Executed("CreateTags"); got != 0 {
		t.Fatalf("the plan executed %d writes", got)
	}
	out := p.call(t, "apply_change", map[string]any{"change_id": pl.ChangeID})
	if out.IsError || !strings.Contains(text(out), "6 of 6 succeeded") {
		t.Fatalf("apply_change: %s", text(out))
	}
	for _, c := range stack.STS.Calls()[len(planned):] {
		if len(c.PolicyARNs) != 0 {
			t.Errorf("the change's AssumeRole in %s carries %v: a change runs with the role's own permissions", c.Account, c.PolicyARNs)
		}
	}
	if got := stack.MCP.Executed("CreateTags"); got != 6 {
		t.Errorf("%d writes, want 6", got)
	}
}

// TestChangeToolsOnlyWhereChangesAreAllowed: no change tools without
// --allow-changes or in --read-only, which wins over --allow-changes.
func TestChangeToolsOnlyWhereChangesAreAllowed(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 2)
	env := []string{accountsEnv(stack)}
	if got := toolNames(t, startProxy(t, stack, env, "--allow-changes").client); !slices.Contains(got, "change_all") || !slices.Contains(got, "apply_change") {
		t.Errorf("--allow-changes lists %v", got)
	}
	for _, args := range [][]string{nil, {"--read-only"}, {"--read-only", "--allow-changes"}} {
		p := startProxy(t, stack, env, args...)
		if got := toolNames(t, p.client); slices.Contains(got, "change_all") || slices.Contains(got, "apply_change") {
			t.Errorf("%v lists %v", args, got)
		}
		if res, err := p.tryCall(context.Background(), "change_all", changeArgs(nil)); err == nil && !res.IsError {
			t.Errorf("%v: change_all answered %s", args, text(res))
		}
		if len(args) == 2 && !strings.Contains(p.stderr.String(), "--allow-changes is ignored") {
			t.Errorf("--read-only --allow-changes does not say it ignores --allow-changes:\n%s", p.stderr.String())
		}
	}
}

// TestTeamServerChangesBelongToTheirCaller: allow_changes rules grant
// changes per caller and account selection; a read-only caller is not
// offered them; another caller's change_id and an expired one are
// refused. Both modes: a stateless server asks through multi round-trip
// requests, which need no session.
func TestTeamServerChangesBelongToTheirCaller(t *testing.T) {
	t.Parallel()
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			t.Parallel()
			testTeamServerChanges(t, stateless)
		})
	}
}

func testTeamServerChanges(t *testing.T, stateless bool) {
	stack := newTodayStack(t, 6)
	idp := startIdP(t)
	policy := writePolicy(t, `
rules:
  - match: {groups: platform}
    allow_changes: true
  - match: {groups: payments}
    tags: {team: payments}
    allow_changes: true
  - match: {groups: readers}
    read_only: true
`)
	args := []string{"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", policy}
	if stateless {
		args = append(args, "--stateless")
	}
	srv := startTeamServer(t, stack, []string{teamAccounts(t, stack, "platform", "payments"), "AWS_MCP_ACCOUNT_RPS=0"}, args...)
	alice := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "alice", "groups": []string{"platform"}}))
	bob := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "bob", "groups": []string{"payments"}}))
	reader := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "rita", "groups": []string{"readers"}}))

	if got := toolNames(t, reader); slices.Contains(got, "change_all") || slices.Contains(got, "apply_change") {
		t.Errorf("a read-only caller is offered %v", got)
	}
	if got := toolNames(t, bob); !slices.Contains(got, "change_all") {
		t.Errorf("bob, allowed changes in the payments accounts, is offered %v", got)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "change_all", changeArgs(nil)
	if res, err := reader.CallTool(context.Background(), req); err == nil && !res.IsError {
		t.Errorf("a read-only caller called change_all: %s", text(res))
	}

	pl := plan(t, callTool(t, alice, "change_all", changeArgs(nil)))
	if pl.Accounts != 6 {
		t.Errorf("alice's plan has %d accounts, want 6", pl.Accounts)
	}
	bobs := plan(t, callTool(t, bob, "change_all", changeArgs(nil)))
	if bobs.Accounts != 3 {
		t.Errorf("bob's plan has %d accounts, want the 3 payments accounts", bobs.Accounts)
	}
	if res := callTool(t, bob, "apply_change", map[string]any{"change_id": pl.ChangeID}); !res.IsError || !strings.Contains(text(res), "no such change") {
		t.Errorf("bob applied alice's change: %s", text(res))
	}
	if got := stack.MCP.Executed("CreateTags"); got != 0 {
		t.Fatalf("%d writes before any apply", got)
	}
	if res := callTool(t, alice, "apply_change", map[string]any{"change_id": pl.ChangeID}); res.IsError || !strings.Contains(text(res), "6 of 6 succeeded") {
		t.Errorf("alice's apply: %s", text(res))
	}
	if got := stack.MCP.Executed("CreateTags"); got != 6 {
		t.Errorf("%d writes, want alice's 6", got)
	}

	// A client with elicitation is asked once; a decline runs nothing, an
	// accept runs it. On the current protocol the question is a multi
	// round-trip request; an older client of a stateful server gets
	// elicitation/create on its session's stream (a stateless server does
	// not ask older clients: it cannot route their answer back).
	type answer struct {
		human   *elicitor
		version string
		asked   int
		writes  int
	}
	answers := []answer{
		{&elicitor{action: mcp.ElicitationResponseActionDecline}, mcp.LATEST_PROTOCOL_VERSION, 1, 6},
		{&elicitor{action: mcp.ElicitationResponseActionAccept, confirm: true}, mcp.LATEST_PROTOCOL_VERSION, 1, 9},
	}
	if stateless {
		answers = append(answers, answer{&elicitor{action: mcp.ElicitationResponseActionAccept, confirm: true}, mcp.LATEST_LEGACY_PROTOCOL_VERSION, 0, 9})
	} else {
		answers = append(answers, answer{&elicitor{action: mcp.ElicitationResponseActionAccept, confirm: true}, mcp.LATEST_LEGACY_PROTOCOL_VERSION, 1, 12})
	}
	for _, answer := range answers {
		c, err := srv.tryConnectWith(idp.Token(teamAudience, fakeoidc.Claims{"sub": "bob", "groups": []string{"payments"}}),
			answer.version, client.WithElicitationHandler(answer.human))
		if err != nil {
			t.Fatal(err)
		}
		res := callTool(t, c, "change_all", changeArgs(nil))
		c.Close()
		if res.IsError || len(answer.human.asked) != answer.asked || (answer.asked > 0 && !strings.Contains(answer.human.asked[0].Params.Message, "3 accounts")) ||
			(answer.asked == 0 && !strings.Contains(text(res), "apply_change")) {
			t.Errorf("elicitation over HTTP (%s): %d questions, answer %s", answer.version, len(answer.human.asked), text(res))
		}
		if got := stack.MCP.Executed("CreateTags"); got != answer.writes {
			t.Errorf("after a %s (%s): %d writes, want %d", answer.human.action, answer.version, got, answer.writes)
		}
	}
	// Bob's unused plan is his alone, and expires.
	if res := callTool(t, alice, "apply_change", map[string]any{"change_id": bobs.ChangeID}); !res.IsError || !strings.Contains(text(res), "no such change") {
		t.Errorf("alice applied bob's change: %s", text(res))
	}
}

// TestCLIChange: call --change prints the plan, refuses to run without a
// terminal or --yes, and with --yes rolls out, showing the canary; a
// failure that stops the rollout is exit code 1.
func TestCLIChange(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 8)
	env := []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}
	script := "code=" + tagScript

	_, stderr, code := runCLI(t, stack, env, "call", "--all", "--change", "aws___run_script", script)
	if code != 2 || !strings.Contains(stderr, "--allow-changes") {
		t.Errorf("without --allow-changes: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, stack, env, "call", "--all", "--change", "--allow-changes", "aws___run_script", script)
	if code != 2 || !strings.Contains(stderr, "Run aws___run_script in 8 accounts") || !strings.Contains(stderr, "--yes") {
		t.Errorf("without a terminal or --yes: exit %d, %s", code, stderr)
	}
	if got := stack.MCP.Executed("CreateTags"); got != 0 {
		t.Fatalf("%d writes without a confirmation", got)
	}

	stdout, stderr, code := runCLI(t, stack, env, "call", "--all", "--change", "--allow-changes", "--yes", "--rollout-concurrency", "3", "aws___run_script", script)
	if code != 0 || !strings.Contains(stdout, "8 of 8 succeeded") || !strings.Contains(stderr, "canary 200000000001") {
		t.Errorf("--yes: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := stack.MCP.Executed("CreateTags"); got != 8 {
		t.Errorf("%d writes, want 8", got)
	}

	stack.MCP.DenyActions("200000000002", "ec2:CreateTags")
	stdout, stderr, code = runCLI(t, stack, env, "call", "--all", "--change", "--allow-changes", "--yes", "--rollout-concurrency", "1", "aws___run_script", script)
	if code != 1 || !strings.Contains(stdout, "1 failed") || !strings.Contains(stderr, "6 skipped") {
		t.Errorf("a failing account: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := stack.MCP.Executed("CreateTags"); got != 8+1 {
		t.Errorf("%d writes, want 9 (the canary of the second run, then the stop)", got)
	}
}

// TestChangePollsTasksToTheirEnd: a change's script that becomes a task is
// polled until it ends, and the stored outcome holds its answer.
func TestChangePollsTasksToTheirEnd(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 3)
	stack.MCP.SetScriptTasks(0, 0.05) // every script that sleeps answers with a task
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "--allow-changes")
	args := changeArgs(nil)
	args["arguments"] = scriptArgs("await asyncio.sleep(0.3)\n" + tagScript)
	pl := plan(t, p.call(t, "change_all", args))
	res := p.call(t, "apply_change", map[string]any{"change_id": pl.ChangeID})
	var out queryAllOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 3 {
		t.Fatalf("outcome %+v: %s", out.Summary, text(res))
	}
	polls := 0
	for _, c := range stack.MCP.Calls() {
		if c.Tool == "aws___get_tasks" {
			polls++
		}
	}
	stored := p.call(t, "get_result", map[string]any{"result_id": out.Summary.ResultID, "account_id": stack.Accounts[0].ID})
	if polls < 3 || !strings.Contains(text(stored), `"operation":"ec2:CreateTags"`) || strings.Contains(text(stored), "working") {
		t.Errorf("%d polls; stored answer %s", polls, text(stored))
	}
}

// TestChangeCancelledStartsNoNewTarget: the client cancels the rollout
// while targets are in flight; those finish (their writes land), and no
// other target starts.
func TestChangeCancelledStartsNoNewTarget(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 20)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "--allow-changes")
	pl := plan(t, p.call(t, "change_all", changeArgs(map[string]any{"max_concurrency": 3})))
	var order []string
	for _, tg := range pl.Targets {
		order = append(order, tg.AccountID)
	}
	release := stack.MCP.HoldAccounts(order[1:]...)
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "apply_change", map[string]any{"change_id": pl.ChangeID}
	done := make(chan error, 1)
	go func() {
		_, err := p.client.CallTool(ctx, req)
		done <- err
	}()
	// The canary has run; three targets are held in flight.
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 3 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled call answered")
	}
	// The server hears the cancellation; then the held targets finish.
	waitUntil(t, func() bool { return strings.Contains(p.stderr.String(), `msg="change cancelled`) })
	release()
	waitUntil(t, func() bool { return strings.Contains(p.stderr.String(), `msg="change applied"`) })
	if got := stack.MCP.Executed("CreateTags"); got != 4 {
		t.Errorf("%d writes, want the canary's and the 3 in flight", got)
	}
	if n := strings.Count(p.stderr.String(), "the change was cancelled"); n != 16 {
		t.Errorf("%d targets skipped as cancelled, want 16\n%s", n, p.stderr.String())
	}
}

// TestTeamServerChangesWithoutAPolicy: without an access policy every
// caller reaches every account as configured, changes with
// --allow-changes included, and the log says so; with a policy the flag
// grants nothing.
func TestTeamServerChangesWithoutAPolicy(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 2)
	srv := startTeamServer(t, stack, []string{accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"}, "--insecure-no-auth", "--allow-changes")
	c := srv.connect(t, "")
	pl := plan(t, callTool(t, c, "change_all", changeArgs(nil)))
	if res := callTool(t, c, "apply_change", map[string]any{"change_id": pl.ChangeID}); res.IsError || !strings.Contains(text(res), "2 of 2 succeeded") {
		t.Errorf("apply_change: %s", text(res))
	}
	if !strings.Contains(srv.stderr.String(), "every caller may change every configured account") {
		t.Errorf("no warning:\n%s", srv.stderr.String())
	}

	idp := startIdP(t)
	policy := writePolicy(t, "rules:\n  - match: {groups: ops}\n")
	withPolicy := startTeamServer(t, stack, []string{accountsEnv(stack)}, "--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience,
		"--access-policy", policy, "--allow-changes")
	ops := withPolicy.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "o", "groups": []string{"ops"}}))
	if slices.Contains(toolNames(t, ops), "change_all") {
		t.Error("--allow-changes granted changes beside a policy without allow_changes rules")
	}
	if !strings.Contains(withPolicy.stderr.String(), "--allow-changes is ignored") {
		t.Errorf("no warning:\n%s", withPolicy.stderr.String())
	}
}
