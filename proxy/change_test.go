package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy/plans"
	"github.com/centralops/aws-mcp-multi-account/proxy/rollout"
)

var tagArgs = json.RawMessage(`{"code": "await call_boto3(service_name='ec2', operation_name='CreateTags', params={})"}`)

func TestAnExpiredPlanIsRefused(t *testing.T) {
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(3)})
	defer stack.Close()
	svc, _ := testService(t, stack, Config{AllowChanges: true})
	ctx := context.Background()
	c, err := svc.PlanChange(ctx, ChangeRequest{ToolName: RunScriptTool, Arguments: tagArgs, Rollout: rollout.Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(plans.DefaultTTL + time.Second)
	svc.Changes().SetClock(func() time.Time { return later })
	_, handler := ApplyChangeTool(svc)
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = ToolApplyChange, map[string]any{"change_id": c.ID}
	res, err := handler(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(firstText(res), "expired") || !strings.Contains(firstText(res), "make a new plan") {
		t.Errorf("an expired plan: %v", res.Content)
	}
	if got := stack.MCP.Executed("CreateTags"); got != 0 {
		t.Errorf("%d writes", got)
	}
}

func firstText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

func TestPlanChangeRefusals(t *testing.T) {
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	tests := []struct {
		name string
		cfg  Config
		req  ChangeRequest
		want error
		text string
	}{
		{"changes not enabled", Config{}, ChangeRequest{ToolName: RunScriptTool, Rollout: rollout.Defaults()}, ErrChangesRefused, "allow-changes"},
		{"read-only", Config{AllowChanges: true, ReadOnly: true}, ChangeRequest{ToolName: RunScriptTool, Rollout: rollout.Defaults()}, ErrChangesRefused, "read-only"},
		{"a preview that writes", Config{AllowChanges: true}, ChangeRequest{ToolName: RunScriptTool, Rollout: rollout.Defaults(),
			Preview: &Preview{ToolName: "aws___get_presigned_url"}}, ErrWriteRefused, "preview"},
		{"an unknown tool", Config{AllowChanges: true}, ChangeRequest{ToolName: "aws___nope", Rollout: rollout.Defaults()}, nil, "aws___nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := testService(t, stack, tt.cfg)
			_, err := svc.PlanChange(context.Background(), tt.req)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("PlanChange = %v, want %v naming %q", err, tt.want, tt.text)
			}
		})
	}
	if len(stack.MCP.Calls()) != 0 {
		t.Errorf("refused plans made %d tool calls", len(stack.MCP.Calls()))
	}
}

func TestChangeAllArguments(t *testing.T) {
	svc := New(Config{AllowChanges: true}, nil, nil, nil, nil)
	tests := []struct {
		args    string
		wantErr string
	}{
		{`{"tool_name": "aws___run_script"}`, ""},
		{`{"tool_name": "aws___run_script", "rollout": {"canary": 2, "max_concurrency": "25%", "max_errors": 1, "region_order": ["eu-west-1"]}}`, ""},
		{`{"tool_name": "aws___run_script", "rollout": {"canary": -1}}`, "canary"},
		{`{"tool_name": "aws___run_script", "rollout": {"max_concurrency": 0}}`, "max_concurrency"},
		{`{"tool_name": "aws___run_script", "rollout": {"max_errors": "lots"}}`, "max_errors"},
		{`{"tool_name": "aws___run_script", "rollout": {"region_order": "random"}}`, "region_order"},
		{`{"tool_name": "aws___run_script", "rollout": {"speed": 3}}`, "unknown field"},
		{`{"tool_name": "aws___run_script", "preview": {"arguments": {}}}`, "tool_name"},
		{`{"tool_name": "aws___run_script", "preview": {"tool_name": "x", "extra": 1}}`, "preview"},
		{`{"tool_name": "aws___run_script", "jmespath": "x"}`, "unknown parameter"},
	}
	for _, tt := range tests {
		_, _, err := svc.changeAllArgs(json.RawMessage(tt.args))
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: error %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}

func TestTheBridgeNeverOffersChanges(t *testing.T) {
	for _, tool := range ToolDefinitions(Config{AllowChanges: true}) {
		if tool.Name == ToolChangeAll || tool.Name == ToolApplyChange {
			t.Errorf("the gateway schema offers %s", tool.Name)
		}
	}
	svc := New(Config{AllowChanges: true}, nil, nil, nil, nil)
	for _, name := range []string{ToolChangeAll, ToolApplyChange} {
		if _, err := svc.Invoke(context.Background(), name, json.RawMessage(`{}`), nil); !errors.Is(err, ErrUnknownTool) {
			t.Errorf("Invoke(%s) = %v, want ErrUnknownTool", name, err)
		}
	}
	var names []string
	for _, t := range Tools(svc) {
		names = append(names, t.Tool.Name)
	}
	if !strings.Contains(strings.Join(names, ","), ToolChangeAll) {
		t.Errorf("the MCP server with AllowChanges lists %v", names)
	}
}

func TestPlanOrdersRegionsSequentially(t *testing.T) {
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(3)})
	defer stack.Close()
	svc, _ := testService(t, stack, Config{AllowChanges: true})
	o := rollout.Defaults()
	o.Regions = []string{"eu-west-1"}
	o.MaxConcurrency = rollout.Limit{Count: 2}
	c, err := svc.PlanChange(context.Background(), ChangeRequest{ToolName: RunScriptTool, Arguments: tagArgs,
		Regions: []string{"us-east-1", "eu-west-1"}, Rollout: o})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range c.Targets {
		got = append(got, tg.AccountID[len(tg.AccountID)-1:]+"/"+tg.Region)
	}
	want := "1/eu-west-1 2/eu-west-1 3/eu-west-1 1/us-east-1 2/us-east-1 3/us-east-1"
	if strings.Join(got, " ") != want || !c.Targets[0].Canary || c.Targets[1].Canary {
		t.Errorf("targets %v, want %s with the first the canary", got, want)
	}
	if strings.Join(c.Regions, ",") != "eu-west-1,us-east-1" || c.Bounds.MaxConcurrency != 2 || c.TargetCount != 6 || c.Accounts != 3 {
		t.Errorf("plan %+v", c)
	}
	if len(c.stages) != 3 || len(c.stages[0]) != 1 || len(c.stages[1]) != 2 || len(c.stages[2]) != 3 {
		t.Errorf("stages %v: want the canary, the rest of eu-west-1, then us-east-1", c.stages)
	}
	if len(stack.MCP.Calls()) != 0 {
		t.Errorf("planning called %d tools", len(stack.MCP.Calls()))
	}
}
