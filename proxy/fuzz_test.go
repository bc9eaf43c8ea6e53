package proxy

import (
	"encoding/json"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// FuzzToolArguments feeds arbitrary arguments objects to the argument
// parsers of every tool: no panic, and what they accept is well formed.
func FuzzToolArguments(f *testing.F) {
	f.Add([]byte(`{"account_id":"222222222222","tool_name":"aws___call_aws","arguments":{"cli_command":"aws s3 ls"},"region":"eu-west-1"}`))
	f.Add([]byte(`{"tool_name":"aws___call_aws","arguments":"{\"cli_command\":\"aws s3 ls\"}","regions":["us-east-1","eu-west-1"],"accounts":["prod-*"],"tags":{"env":"prod"},"ou":"Root/Workloads"}`))
	f.Add([]byte(`{"account_id":222222222222,"tool_name":"x"}`))
	f.Add([]byte(`{"tool_name":5}`))
	f.Add([]byte(`{"regions":"us-east-1","tool_name":"a"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"tool_name":"a","jmespath":"Buckets[].Name","max_bytes":4096,"reply_within_s":1.5}`))
	f.Add([]byte(`{"result_id":"r-aaaaaaaaaaaaaaaaaaaa","account_id":"222222222222","offset":"12"}`))
	svc := New(Config{}, nil, nil, nil, nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if q, budget, err := svc.queryArgs(raw); err == nil {
			if budget < 1024 || budget > svc.cfg.ResultBudgetMax {
				t.Fatalf("query accepted budget %d from %q", budget, raw)
			}
			if q.ToolName == "" || !json.Valid(q.Arguments) || q.Arguments[0] != '{' {
				t.Fatalf("query accepted %+v from %q", q, raw)
			}
		}
		if q, _, err := svc.queryAllArgs(raw); err == nil {
			if q.ReplyWithin < 0 {
				t.Fatalf("query_all accepted reply_within %s from %q", q.ReplyWithin, raw)
			}
			if q.ToolName == "" || !json.Valid(q.Arguments) || q.Arguments[0] != '{' {
				t.Fatalf("query_all accepted %+v from %q", q, raw)
			}
			if regions, err := requestRegions(q.Region, q.Regions); err == nil {
				for _, r := range regions {
					if !accounts.ValidRegion(r) {
						t.Fatalf("region %q passed validation", r)
					}
				}
			}
			if err := validateToolName(q.ToolName); err == nil && (len(q.ToolName) > maxToolNameLen || !toolNamePattern.MatchString(q.ToolName)) {
				t.Fatalf("tool name %q passed validation", q.ToolName)
			}
		}
		args, err := ParseArgs(raw, "accounts", "tags", "ou")
		if err == nil {
			selectorArgs(args)
		}
	})
}
