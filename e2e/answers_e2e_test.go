package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// budgetedOutput mirrors query_all's structuredContent with the budget's
// fields.
type budgetedOutput struct {
	Results []struct {
		AccountID   string          `json:"account_id"`
		Region      string          `json:"region"`
		Status      string          `json:"status"`
		Data        json.RawMessage `json:"data"`
		DataOmitted bool            `json:"data_omitted"`
		Bytes       int             `json:"bytes"`
		Error       string          `json:"error"`
		ErrorCode   string          `json:"error_code"`
		SameAs      string          `json:"same_as"`
	} `json:"results"`
	Summary struct {
		Text                                       string `json:"text"`
		Total, Succeeded, Failed, Pending, Omitted int
		ResultID                                   string `json:"result_id"`
	} `json:"summary"`
	Note   string `json:"note"`
	Groups []struct {
		Status   string   `json:"status"`
		Count    int      `json:"count"`
		Accounts []string `json:"accounts"`
	} `json:"groups"`
}

// sameJSON reports whether two JSON texts hold the same value (the wire
// escapes <, > and & in structured content, not in text).
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	ra, _ := json.Marshal(va)
	rb, _ := json.Marshal(vb)
	return string(ra) == string(rb)
}

// answerOf is an upstream text as an entry's data carries it: JSON
// compacted, anything else a JSON string.
func answerOf(text string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(text)) == nil {
		return b.String()
	}
	raw, _ := json.Marshal(text)
	return string(raw)
}

// pageOf decodes a get_result page: its answer (data, or a text slice).
func pageOf(t *testing.T, res *mcp.CallToolResult) (answer string, status string) {
	t.Helper()
	var page struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Text   string          `json:"text"`
	}
	structured(t, res, &page)
	if page.Data != nil {
		return string(page.Data), page.Status
	}
	return page.Text, page.Status
}

var describeInstances = map[string]any{"cli_command": "aws ec2 describe-instances"}

// TestAnswersFitTheBudgetAtOrganizationScale is the first
// scenario: 300 accounts answering DescribeInstances-sized JSON.
func TestAnswersFitTheBudgetAtOrganizationScale(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 300)
	// Unpaced: the subtests call every account again right away, which at
	// the default 3 requests a second per account measures the pacer.
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_CONCURRENCY=64", "AWS_MCP_ACCOUNT_RPS=0"})

	p.stdout.resetLongest()
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": describeInstances})
	wire := p.stdout.resetLongest()
	if res.IsError {
		t.Fatalf("query_all failed: %.500s", text(res))
	}
	t.Logf("300 accounts: tool result %d bytes on the wire, text %d bytes", wire, len(firstText(res)))
	if wire > 96<<10 || len(firstText(res)) > 32<<10 || !sameJSON(firstText(res), string(res.RawStructuredContent)) {
		t.Errorf("tool result %d bytes (text %d): want ≤ 96 KiB and text ≤ 32 KiB", wire, len(firstText(res)))
	}
	var out budgetedOutput
	structured(t, res, &out)
	if out.Summary.Total != 300 || out.Summary.Succeeded != 300 || out.Summary.ResultID == "" {
		t.Fatalf("summary %+v with %d entries", out.Summary, len(out.Results))
	}
	var empty []string
	for _, a := range stack.Accounts {
		if !strings.Contains(firstText(res), a.ID) {
			t.Errorf("account %s is not named in the text", a.ID)
		}
		if fakeaws.InstanceCount(a.ID) == 0 {
			empty = append(empty, a.ID)
		}
	}
	grouped := false
	for _, g := range out.Groups {
		grouped = grouped || (g.Count == len(empty) && strings.Join(g.Accounts, ",") == strings.Join(empty, ","))
	}
	if !grouped || strings.Count(firstText(res), `{"Reservations":[]}`) != 1 {
		t.Errorf("the %d accounts without instances are not one group written once:\n%.3000s", len(empty), firstText(res))
	}
	if out.Summary.Omitted == 0 || !strings.Contains(out.Note, "get_result") {
		t.Errorf("summary %+v, note %q: want answers left out and how to read them", out.Summary, out.Note)
	}

	t.Run("get_result returns each account's answer byte for byte, as a direct query does", func(t *testing.T) {
		for _, a := range stack.Accounts {
			stored := p.call(t, "get_result", map[string]any{"result_id": out.Summary.ResultID, "account_id": a.ID})
			direct := p.call(t, "query", map[string]any{"account_id": a.ID, "tool_name": "aws___call_aws", "arguments": describeInstances})
			var q struct {
				Data json.RawMessage `json:"data"`
			}
			structured(t, direct, &q)
			got, _ := pageOf(t, stored)
			if stored.IsError || direct.IsError || got != string(q.Data) {
				t.Fatalf("account %s: get_result (%d bytes) differs from query (%d bytes): %.200s", a.ID, len(got), len(q.Data), text(stored))
			}
			if got != answerOf(fakeaws.DescribeInstances(a.ID, "us-east-1")) {
				t.Fatalf("account %s: get_result is not what the upstream sent", a.ID)
			}
		}
	})

	t.Run("get_result pages an answer by offset", func(t *testing.T) {
		big := stack.Accounts[0].ID
		for _, a := range stack.Accounts {
			if fakeaws.InstanceCount(a.ID) >= 10 {
				big = a.ID
				break
			}
		}
		want := answerOf(fakeaws.DescribeInstances(big, "us-east-1"))
		var got strings.Builder
		offset, pages := 0, 0
		for {
			page := p.call(t, "get_result", map[string]any{"result_id": out.Summary.ResultID, "account_id": big, "offset": offset, "max_bytes": 4096})
			var meta struct {
				Bytes      int  `json:"bytes"`
				Offset     int  `json:"offset"`
				NextOffset *int `json:"next_offset"`
			}
			structured(t, page, &meta)
			if meta.Offset != offset || meta.Bytes != len(want) || len(firstText(page)) > 4096 {
				t.Fatalf("page at %d: %+v, %d bytes", offset, meta, len(firstText(page)))
			}
			part, _ := pageOf(t, page)
			got.WriteString(part)
			pages++
			if meta.NextOffset == nil {
				break
			}
			if !strings.Contains(text(page), fmt.Sprintf(`\"offset\": %d`, *meta.NextOffset)) {
				t.Errorf("page does not say how to read the next one: %s", text(page))
			}
			offset = *meta.NextOffset
		}
		if got.String() != want || pages < 2 {
			t.Errorf("%d pages joined to %d bytes, want the %d-byte answer", pages, got.Len(), len(want))
		}
	})

	t.Run("jmespath projects every answer; get_result re-projects without calling AWS", func(t *testing.T) {
		res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": describeInstances,
			"jmespath": "Reservations[].Instances[].InstanceId", "max_bytes": 64 << 10})
		if res.IsError {
			t.Fatalf("query_all: %s", text(res))
		}
		for _, a := range stack.Accounts {
			for _, id := range fakeaws.InstanceIDs(a.ID) {
				if !strings.Contains(firstText(res), id) {
					t.Fatalf("instance %s of %s is not in the projected text", id, a.ID)
				}
			}
		}
		var projected budgetedOutput
		structured(t, res, &projected)
		calls, assumes := stack.MCP.CallCount(""), stack.STS.AssumeRoleCount("")
		start := time.Now()
		again := p.call(t, "get_result", map[string]any{"result_id": projected.Summary.ResultID, "jmespath": "length(Reservations[].Instances[])"})
		t.Logf("re-projection of 300 stored answers through get_result: %s", time.Since(start))
		if again.IsError || stack.MCP.CallCount("") != calls || stack.STS.AssumeRoleCount("") != assumes {
			t.Fatalf("get_result called AWS (%d upstream calls, %d AssumeRole) or failed: %.300s",
				stack.MCP.CallCount("")-calls, stack.STS.AssumeRoleCount("")-assumes, text(again))
		}
		a := stack.Accounts[5].ID
		if want := fmt.Sprintf("%d", fakeaws.InstanceCount(a)); !strings.Contains(firstText(again), a) || !strings.Contains(firstText(again), want) {
			t.Errorf("re-projection lacks %s's count %s", a, want)
		}
	})
}

// TestAnswerBeforeTheClientGivesUp: one slow account does not cost the
// others their answers. The 75 s account and 60 s client timeout
// are scaled down: a 1 s reply deadline, a 4 s account.
func TestAnswerBeforeTheClientGivesUp(t *testing.T) {
	stack := newStack(t, 20)
	slow := stack.Accounts[11].ID
	stack.MCP.SetLatency(slow, 4*time.Second)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_REPLY_WITHIN=1s"})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // the client's own timeout
	defer cancel()
	res, err := p.tryCall(ctx, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	if err != nil {
		t.Fatalf("the client gave up: %v", err)
	}
	var out budgetedOutput
	structured(t, res, &out)
	if out.Summary.Succeeded != 19 || out.Summary.Pending != 1 {
		t.Fatalf("summary %+v, want 19 succeeded and 1 pending", out.Summary)
	}
	for _, r := range out.Results {
		if (r.AccountID == slow) != (r.Status == "pending") {
			t.Errorf("entry %s is %s", r.AccountID, r.Status)
		}
	}
	if !strings.Contains(out.Note, "1 target still running (status pending); get_result") || !strings.Contains(firstText(res), `{"account_id":"`+slow+`","name":"acct-012","region":"us-east-1","status":"pending"`) {
		t.Errorf("the reply does not name the pending account:\n%s", text(res))
	}

	// The slow account goes on in the background; its answer lands in the
	// stored result.
	deadline := time.Now().Add(15 * time.Second)
	for {
		again := p.call(t, "get_result", map[string]any{"result_id": out.Summary.ResultID, "account_id": slow})
		answer, status := pageOf(t, again)
		one := struct{ Status string }{status}
		if one.Status == "success" {
			if callerAccount(t, json.RawMessage(answer)) != slow {
				t.Errorf("stored answer %s", firstText(again))
			}
			break
		}
		if one.Status != "pending" || time.Now().After(deadline) {
			t.Fatalf("the slow account is %s: %s", one.Status, text(again))
		}
		<-time.After(200 * time.Millisecond) // poll: the answer lands when the fake answers
	}
	all := p.call(t, "get_result", map[string]any{"result_id": out.Summary.ResultID})
	var final budgetedOutput
	structured(t, all, &final)
	if final.Summary.Succeeded != 20 || final.Summary.Pending != 0 {
		t.Errorf("the stored result's summary is %+v, want 20 succeeded", final.Summary)
	}
}

// TestBadBudgetArgumentsCallNothing: invalid jmespath, unknown result_id,
// max_bytes over the ceiling are tool errors made before any AWS call.
func TestBadBudgetArgumentsCallNothing(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 5)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_RESULT_BUDGET_MAX=256KiB"})
	acct := stack.Accounts[0].ID
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "jmespath": "Reservations[."}, "is not a valid JMESPath expression"},
		{"query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "arguments": callerIdentity, "jmespath": "length("}, "is not a valid JMESPath expression"},
		{"query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "max_bytes": 2 << 20}, "over the ceiling of 262144 bytes"},
		{"query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "max_bytes": 10}, "below the smallest budget"},
		{"query_all", map[string]any{"tool_name": "aws___call_aws", "reply_within_s": -1}, "reply_within_s"},
		{"get_result", map[string]any{"result_id": "r-aaaaaaaaaaaaaaaaaaaa"}, `result "r-aaaaaaaaaaaaaaaaaaaa" is unknown`},
		{"get_result", map[string]any{"result_id": "not-an-id", "account_id": acct}, `result "not-an-id" is unknown`},
		{"get_result", map[string]any{"result_id": "r-aaaaaaaaaaaaaaaaaaaa", "jmespath": "a["}, "is not a valid JMESPath expression"},
		{"get_result", map[string]any{"result_id": "r-aaaaaaaaaaaaaaaaaaaa", "offset": 5}, "give account_id too"},
	}
	for _, tt := range tests {
		res := p.call(t, tt.tool, tt.args)
		if !res.IsError || !strings.Contains(text(res), tt.want) {
			t.Errorf("%s %v: %s, want a tool error containing %q", tt.tool, tt.args, text(res), tt.want)
		}
	}
	if n := stack.MCP.CallCount(""); n != 0 {
		t.Errorf("%d upstream calls, want none", n)
	}
	if n := stack.STS.AssumeRoleCount(""); n != 0 {
		t.Errorf("%d AssumeRole calls, want none", n)
	}
	// A real result, then an offset past its end.
	res := p.call(t, "query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "arguments": callerIdentity})
	var q struct {
		ResultID string `json:"result_id"`
	}
	structured(t, res, &q)
	id := q.ResultID
	past := p.call(t, "get_result", map[string]any{"result_id": id, "account_id": acct, "offset": 1 << 20})
	if !past.IsError || !strings.Contains(text(past), "past the end") {
		t.Errorf("offset past the end: %s", text(past))
	}
}

// TestQueryCutsLongAnswers: a query's answer longer than the budget is
// cut, with the way to read the rest.
func TestQueryCutsLongAnswers(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 2)
	stack.MCP.SetPayload(50 << 10)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_RESULT_BUDGET=8KiB"})
	acct := stack.Accounts[1].ID
	p.stdout.resetLongest()
	res := p.call(t, "query", map[string]any{"account_id": acct, "tool_name": "aws___call_aws", "arguments": callerIdentity})
	wire := p.stdout.resetLongest()
	if res.IsError || len(firstText(res)) > 8<<10 || wire > 24<<10 {
		t.Fatalf("query answered %d bytes of text, %d on the wire: %.200s", len(firstText(res)), wire, text(res))
	}
	var reply struct {
		ResultID    string `json:"result_id"`
		DataOmitted bool   `json:"data_omitted"`
		Bytes       int    `json:"bytes"`
		Part        string `json:"part"`
		NextOffset  *int   `json:"next_offset"`
		Note        string `json:"note"`
	}
	structured(t, res, &reply)
	want := answerOf(fakeaws.PayloadText(acct, 50<<10))
	if !reply.DataOmitted || reply.Bytes != len(want) || reply.NextOffset == nil || !strings.HasPrefix(want, reply.Part) ||
		!strings.Contains(reply.Note, `get_result {"account_id":"`+acct+`","offset":`+fmt.Sprint(*reply.NextOffset)) {
		t.Fatalf("cut answer does not say how to read on: %.600s", firstText(res))
	}
	rest := p.call(t, "get_result", map[string]any{"result_id": reply.ResultID, "account_id": acct, "offset": *reply.NextOffset, "max_bytes": 64 << 10})
	if tail, _ := pageOf(t, rest); reply.Part+tail != want {
		t.Errorf("the two parts do not make the answer")
	}
	raw := p.call(t, "get_result", map[string]any{"result_id": reply.ResultID, "account_id": acct, "raw": true, "max_bytes": 256 << 10})
	if envelope, _ := pageOf(t, raw); !strings.Contains(envelope, `"content"`) {
		t.Errorf("raw does not read the upstream's result: %.300s", envelope)
	}
}

// TestStoredAnswersAreResources reads a stored answer with resources/read.
func TestStoredAnswersAreResources(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 30)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_RESULT_BUDGET=4KiB"})
	ctx := context.Background()
	templates, err := p.client.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil || len(templates.ResourceTemplates) != 1 || templates.ResourceTemplates[0].URITemplate.Raw() != "awsmcp://results/{result_id}/{account_id}/{region}" {
		t.Fatalf("resources/templates/list = %+v, %v", templates, err)
	}
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": describeInstances})
	var link *mcp.ResourceLink
	for _, c := range res.Content {
		if l, ok := c.(mcp.ResourceLink); ok {
			link = &l
			break
		}
	}
	if link == nil {
		t.Fatalf("no resource link in a budgeted answer: %.500s", text(res))
	}
	read, err := p.client.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: link.URI}})
	if err != nil || len(read.Contents) != 1 {
		t.Fatalf("resources/read %s = %+v, %v", link.URI, read, err)
	}
	parts := strings.Split(link.URI, "/")
	account := parts[len(parts)-2]
	tc, ok := read.Contents[0].(mcp.TextResourceContents)
	if !ok || tc.Text != answerOf(fakeaws.DescribeInstances(account, "us-east-1")) || tc.MIMEType != "application/json" || link.Size == nil || int(*link.Size) != len(tc.Text) {
		t.Errorf("resource %s: %+v", link.URI, read.Contents[0])
	}
	if _, err := p.client.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "awsmcp://results/r-aaaaaaaaaaaaaaaaaaaa/" + account + "/us-east-1"}}); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("reading an unknown result: %v", err)
	}
}

// TestQueryAllAsTask: a task-augmented tools/call runs the fan-out as an
// MCP task (tasks/get, tasks/result), and tasks/cancel stops it.
func TestQueryAllAsTask(t *testing.T) {
	t.Parallel()
	stack := newStack(t, 12)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_REPLY_WITHIN=1ms"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(args map[string]any) mcp.Task {
		resp, err := p.client.GetTransport().SendRequest(ctx, transport.JSONRPCRequest{
			JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(fmt.Sprintf("task-%d", time.Now().UnixNano())), Method: string(mcp.MethodToolsCall),
			Params: map[string]any{"name": "query_all", "arguments": args, "task": map[string]any{"ttl": 60000}},
		})
		if err != nil || resp.Error != nil {
			t.Fatalf("task-augmented tools/call: %v %+v", err, resp)
		}
		var created mcp.CreateTaskResult
		if err := json.Unmarshal(resp.Result, &created); err != nil || created.Task.TaskId == "" {
			t.Fatalf("CreateTaskResult %s: %v", resp.Result, err)
		}
		return created.Task
	}

	task := start(map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	done, err := p.client.WaitForTask(ctx, mcp.GetTaskRequest{Params: mcp.GetTaskParams{TaskId: task.TaskId}}, 20*time.Millisecond)
	if err != nil || done.Status != mcp.TaskStatusCompleted {
		t.Fatalf("task ended %+v, %v\nstderr:\n%s", done, err, p.stderr.String())
	}
	result, err := p.client.TaskResult(ctx, mcp.TaskResultRequest{Params: mcp.TaskResultParams{TaskId: task.TaskId}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(result)
	var wrapped struct {
		StructuredContent budgetedOutput `json:"structuredContent"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil || wrapped.StructuredContent.Summary.Succeeded != 12 || wrapped.StructuredContent.Summary.Pending != 0 {
		t.Fatalf("tasks/result %s: %v (a task waits for every account, whatever the reply deadline)", raw, err)
	}

	stack.MCP.SetDefaultLatency(20 * time.Second)
	task = start(map[string]any{"tool_name": "aws___call_aws", "arguments": map[string]any{"cli_command": "aws s3api list-buckets"}})
	waitUntil(t, func() bool { return stack.MCP.Inflight() > 0 })
	if _, err := p.client.CancelTask(ctx, mcp.CancelTaskRequest{Params: mcp.CancelTaskParams{TaskId: task.TaskId}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return stack.MCP.Inflight() == 0 })
	if stack.MCP.Aborted() == 0 {
		t.Error("tasks/cancel aborted no upstream call")
	}
}

// TestScriptFanoutAtOrganizationScale: today's upstream, default
// configuration, a DescribeInstances script over 300 accounts: every
// account succeeds and is named, the whole result fits 96 KiB, every
// AssumeRole carries the read-only managed policy and the inline deny of
// secret reads, and a second fan-out assumes no role.
func TestScriptFanoutAtOrganizationScale(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 300)
	p := startProxy(t, stack, []string{accountsEnv(stack), "AWS_MCP_CONCURRENCY=64"})
	args := map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(describeInstancesScript)}

	p.stdout.resetLongest()
	res := p.call(t, "query_all", args)
	wire := p.stdout.resetLongest()
	if res.IsError {
		t.Fatalf("query_all failed: %.500s", text(res))
	}
	t.Logf("300 accounts: tool result %d bytes on the wire, text %d bytes", wire, len(firstText(res)))
	if wire > 96<<10 {
		t.Errorf("tool result %d bytes: want ≤ 96 KiB", wire)
	}
	var out budgetedOutput
	structured(t, res, &out)
	if out.Summary.Total != 300 || out.Summary.Succeeded != 300 {
		t.Fatalf("summary %+v", out.Summary)
	}
	for _, a := range stack.Accounts {
		if !strings.Contains(firstText(res), a.ID) {
			t.Errorf("account %s is not named in the text", a.ID)
		}
	}
	calls := stack.STS.Calls()
	if len(calls) != 300 {
		t.Errorf("%d AssumeRole calls, want 300", len(calls))
	}
	for _, c := range calls {
		if !slices.Equal(c.PolicyARNs, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) || !strings.Contains(c.Policy, `"Effect":"Deny"`) ||
			!strings.Contains(c.Policy, "secretsmanager:GetSecretValue") {
			t.Fatalf("AssumeRole for %s: PolicyArns %v, Policy %s; want ReadOnlyAccess and the inline deny", c.Account, c.PolicyARNs, c.Policy)
		}
	}
	if res := p.call(t, "query_all", args); res.IsError {
		t.Fatal(text(res))
	}
	if n := len(stack.STS.Calls()); n != 300 {
		t.Errorf("the second fan-out made %d AssumeRole calls, want 0", n-300)
	}
	// The projection applies to each script's return_value.
	projected := p.call(t, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": scriptArgs(describeInstancesScript),
		"jmespath": "Reservations[].Instances[].InstanceId", "accounts": []string{stack.Accounts[0].ID}})
	var ids []string
	var po budgetedOutput
	structured(t, projected, &po)
	if len(po.Results) != 1 || json.Unmarshal(po.Results[0].Data, &ids) != nil ||
		strings.Join(ids, ",") != strings.Join(fakeaws.InstanceIDs(stack.Accounts[0].ID), ",") {
		t.Errorf("projected %s, want the instance ids", text(projected))
	}
}

// TestRemovedCallAWSIsNamed: against today's upstream, query_all of
// aws___call_aws is a tool error naming aws___run_script, and no tool call
// reaches the upstream.
func TestRemovedCallAWSIsNamed(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 40)
	p := startProxy(t, stack, []string{accountsEnv(stack)})
	res := p.call(t, "query_all", map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity})
	if !res.IsError || !strings.Contains(text(res), "aws___run_script") || !strings.Contains(text(res), "2026-08-31") {
		t.Errorf("query_all of aws___call_aws: %v %s", res.IsError, text(res))
	}
	if n := stack.MCP.CallCount(""); n != 0 {
		t.Errorf("%d upstream tool calls, want 0", n)
	}
	tools, err := p.client.ListTools(t.Context(), mcpListTools())
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Tools {
		if strings.Contains(tool.Description, "call_aws") {
			t.Errorf("%s's description names aws___call_aws: %s", tool.Name, tool.Description)
		}
		if tool.Name == "query_all" && (!strings.Contains(tool.Description, "aws___run_script") || !strings.Contains(tool.Description, "call_boto3")) {
			t.Errorf("query_all's description does not teach aws___run_script: %s", tool.Description)
		}
	}
}
