package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakelambda"
	"github.com/centralops/aws-mcp-multi-account/internal/fakes3"
)

// DescribeInstances is the fan-out of the budget scenario: a script whose
// return_value is every account's DescribeInstances answer (0 to 11
// instances of about 1.4 KB).
var DescribeInstances = Script("resp = await call_boto3(service_name='ec2', operation_name='DescribeInstances')\nresp")

// Script is a query_all of aws___run_script with code.
func Script(code string) map[string]any {
	return map[string]any{"tool_name": "aws___run_script", "arguments": map[string]any{"code": code}}
}

// BudgetResult is a default query_all over accounts answering
// DescribeInstances, through the built stdio server, and what reading it
// again with get_result costs.
type BudgetResult struct {
	N int `json:"n"`
	C int `json:"c"`
	// UpstreamKiB is what the accounts answered in all (text).
	UpstreamKiB float64 `json:"upstream_kib"`
	// WireKiB is the tool result as the client re-encodes it; TextKiB its
	// text content.
	WireKiB float64 `json:"wire_kib"`
	TextKiB float64 `json:"text_kib"`
	// Named counts accounts named in the text; EmptyGroup the accounts of
	// the largest group of one answer (those without instances); Omitted the
	// entries whose data is not in the answer.
	Named      int     `json:"named"`
	EmptyGroup int     `json:"empty_group"`
	Empty      int     `json:"empty"`
	Omitted    int     `json:"omitted"`
	ColdMS     float64 `json:"cold_ms"`
	// Reproject is get_result with a new jmespath over every stored
	// answer (20 runs, ms); ReprojectCalls the upstream calls they made.
	Reproject      Summary3 `json:"reproject_ms"`
	ReprojectCalls int      `json:"reproject_upstream_calls"`
	// ProjectedKiB is the text of query_all with jmespath
	// Reservations[].Instances[].InstanceId and max_bytes 64 KiB;
	// ProjectedIDs whether every instance id is in it.
	ProjectedKiB float64 `json:"projected_kib"`
	ProjectedIDs bool    `json:"projected_all_ids"`
	// PageMS is get_result of one account's whole answer.
	PageMS float64 `json:"page_ms"`
}

// Summary3 is the median, 90th percentile and maximum of some runs.
type Summary3 struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	Max float64 `json:"max"`
}

// MeasureBudget runs the budget scenario over the fakes' accounts.
func MeasureBudget(ctx context.Context, binary string, fakes Fakes, c int, latency time.Duration) (*BudgetResult, error) {
	if err := fakes.SetLatency(latency); err != nil {
		return nil, err
	}
	accts := fakes.Accounts()
	env := append(fakes.URLs().Env, accountsEnv(accts), fmt.Sprintf("AWS_MCP_CONCURRENCY=%d", c))
	srv, err := StartStdio(ctx, binary, env)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	res := &BudgetResult{N: len(accts), C: c}
	for _, a := range accts {
		res.UpstreamKiB += float64(len(fakeaws.DescribeInstances(a.ID, "us-east-1"))) / 1024
		if fakeaws.InstanceCount(a.ID) == 0 {
			res.Empty++
		}
	}
	start := time.Now()
	out, err := srv.Call(ctx, "query_all", DescribeInstances)
	if err != nil {
		return nil, err
	}
	res.ColdMS = ms(time.Since(start))
	text := firstText(out)
	wire, _ := json.Marshal(out)
	res.WireKiB, res.TextKiB = float64(len(wire))/1024, float64(len(text))/1024
	for _, a := range accts {
		if strings.Contains(text, a.ID) {
			res.Named++
		}
	}
	var summary struct {
		Summary struct {
			Omitted  int    `json:"omitted"`
			ResultID string `json:"result_id"`
		} `json:"summary"`
		Groups []struct {
			Status string `json:"status"`
			Count  int    `json:"count"`
		} `json:"groups"`
	}
	raw, _ := json.Marshal(out.StructuredContent)
	json.Unmarshal(raw, &summary)
	for _, g := range summary.Groups {
		if g.Status == "success" {
			res.EmptyGroup = max(res.EmptyGroup, g.Count) // the accounts without instances share one answer
		}
	}
	res.Omitted = summary.Summary.Omitted

	before, err := fakes.Stats()
	if err != nil {
		return nil, err
	}
	var runs []float64
	for i := range 20 {
		expr := []string{"length(Reservations[].Instances[])", "Reservations[].Instances[].[InstanceId, State.Name]"}[i%2]
		start := time.Now()
		if _, err := srv.Call(ctx, "get_result", map[string]any{"result_id": summary.Summary.ResultID, "jmespath": expr}); err != nil {
			return nil, err
		}
		runs = append(runs, ms(time.Since(start)))
	}
	res.Reproject = Summary3{P50: Percentile(runs, 50), P90: Percentile(runs, 90), Max: Percentile(runs, 100)}
	after, err := fakes.Stats()
	if err != nil {
		return nil, err
	}
	res.ReprojectCalls = after.ToolCalls - before.ToolCalls

	start = time.Now()
	if _, err := srv.Call(ctx, "get_result", map[string]any{"result_id": summary.Summary.ResultID, "account_id": accts[len(accts)/2].ID}); err != nil {
		return nil, err
	}
	res.PageMS = ms(time.Since(start))

	projected, err := srv.Call(ctx, "query_all", map[string]any{"tool_name": DescribeInstances["tool_name"], "arguments": DescribeInstances["arguments"],
		"jmespath": "Reservations[].Instances[].InstanceId", "max_bytes": 64 << 10})
	if err != nil {
		return nil, err
	}
	ptext := firstText(projected)
	res.ProjectedKiB, res.ProjectedIDs = float64(len(ptext))/1024, true
	for _, a := range accts {
		for _, id := range fakeaws.InstanceIDs(a.ID) {
			if !strings.Contains(ptext, id) {
				res.ProjectedIDs = false
			}
		}
	}
	return res, nil
}

func firstText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

// LambdaResult is one query_all invocation of the built Lambda bridge.
type LambdaResult struct {
	N         int     `json:"n"`
	LatencyMS float64 `json:"latency_ms"`
	PayloadKB int     `json:"payload_kib"`
	Env       string  `json:"env"`
	// WallMS is the invocation as the fake Runtime API saw it.
	WallMS        float64 `json:"wall_ms"`
	Succeeded     int     `json:"succeeded"`
	TimedOut      int     `json:"timed_out"`
	Concurrency   int     `json:"concurrency"`
	MaxInflight   int     `json:"max_inflight"`
	AssumeRole    int     `json:"assume_role"`
	ResponseBytes int     `json:"response_bytes"`
	Omitted       int     `json:"omitted"`
	Objects       int     `json:"bucket_objects"`
	// OtherGetResult is whether a second bootstrap process read an
	// account's answer from the bucket.
	OtherGetResult bool `json:"other_get_result"`
}

// MeasureLambda invokes the bootstrap once with query_all over n accounts
// answering after latency (payload bytes each when > 0), in-process fakes,
// a fake S3 bucket when bucket is set, and env added.
func MeasureLambda(ctx context.Context, bootstrap string, n int, latency time.Duration, payload int, bucket bool, env ...string) (*LambdaResult, error) {
	fakes := StartInProcess(FakeOptions{Accounts: n})
	defer fakes.Close()
	stack := fakes.Stack
	stack.MCP.SetDefaultLatency(latency)
	if payload > 0 {
		stack.MCP.SetPayload(payload)
	}
	res := &LambdaResult{N: n, LatencyMS: ms(latency), PayloadKB: payload >> 10, Env: strings.Join(env, " ")}
	if bucket {
		s3, err := fakes3.Start(stack.Keys, "bench-results")
		if err != nil {
			return nil, err
		}
		defer s3.Close()
		env = append(env, "AWS_ENDPOINT_URL_S3="+s3.URL, "AWS_MCP_RESULTS_BUCKET=bench-results")
		defer func() {
			keys, _ := s3.Puts()
			res.Objects = len(keys)
		}()
	}
	invoke := func(event map[string]any, tool string, timeout time.Duration) (fakelambda.Outcome, float64, error) {
		rt := fakelambda.Start()
		defer rt.Close()
		cmd := exec.Command(bootstrap)
		cmd.Env = append(append(append(os.Environ(), stack.Env()...), accountsEnv(stack.Accounts),
			"AWS_LAMBDA_RUNTIME_API="+rt.Addr(), "AWS_LAMBDA_FUNCTION_NAME=aws-mcp-bridge",
			"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"), env...)
		if err := cmd.Start(); err != nil {
			return fakelambda.Outcome{}, 0, err
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		payload, _ := json.Marshal(event)
		start := time.Now()
		out, err := rt.Invoke(ctx, payload, &fakelambda.ClientContext{Custom: map[string]string{"bedrockAgentCoreToolName": "bridge___" + tool}}, timeout)
		return out, ms(time.Since(start)), err
	}
	out, wall, err := invoke(DescribeInstancesEvent(payload), "query_all", 60*time.Second)
	if err != nil {
		return nil, err
	}
	res.WallMS, res.ResponseBytes = wall, len(out.Response)
	var answer struct {
		Results []struct {
			Status    string `json:"status"`
			ErrorCode string `json:"error_code"`
		} `json:"results"`
		Summary struct {
			Succeeded, Concurrency, Omitted int
			ResultID                        string `json:"result_id"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out.Response, &answer); err != nil {
		return nil, fmt.Errorf("answer %.200s: %w", out.Response, err)
	}
	res.Succeeded, res.Concurrency, res.Omitted = answer.Summary.Succeeded, answer.Summary.Concurrency, answer.Summary.Omitted
	for _, r := range answer.Results {
		if r.ErrorCode == "timeout" {
			res.TimedOut++
		}
	}
	st := StackStats(stack)
	res.MaxInflight, res.AssumeRole = st.MaxInflight, st.AssumeRole
	if bucket && answer.Summary.ResultID != "" {
		again, _, err := invoke(map[string]any{"result_id": answer.Summary.ResultID, "account_id": stack.Accounts[n/2].ID}, "get_result", 10*time.Second)
		if err != nil {
			return nil, err
		}
		// One page holds the answer: data, the script's return_value (the
		// listing, as JSON: its keys in another order).
		var page struct {
			Status string
			Data   json.RawMessage
		}
		json.Unmarshal(again.Response, &page)
		var got, want any
		json.Unmarshal(page.Data, &got)
		json.Unmarshal([]byte(fakeaws.PayloadText(stack.Accounts[n/2].ID, payload)), &want)
		res.OtherGetResult = page.Status == "success" && got != nil && reflect.DeepEqual(got, want)
	}
	return res, nil
}

// DescribeInstancesEvent is the gateway event of a query_all: the
// caller-identity script, or a bucket listing when the fakes pad answers.
func DescribeInstancesEvent(payload int) map[string]any {
	op := "sts', operation_name='GetCallerIdentity"
	if payload > 0 {
		op = "s3', operation_name='ListBuckets"
	}
	return Script("resp = await call_boto3(service_name='" + op + "')\nresp")
}
