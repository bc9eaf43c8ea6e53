package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

func TestGatewayToolName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"bridge-lambda___query_all": "query_all",
		"t___query":                 "query",
		"a___b___c":                 "b___c",
		"query":                     "query",
		"t___":                      "",
		" t___ list_accounts ":      "list_accounts",
	}
	for in, want := range tests {
		if got := gatewayToolName(strings.TrimSpace(in)); got != want {
			t.Errorf("gatewayToolName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFitPayload passes answers through once encoded, and turns one over
// Lambda's 6 MB limit (the budget should have prevented it) into an error
// answer rather than a failed invocation.
func TestFitPayload(t *testing.T) {
	t.Parallel()
	big := json.RawMessage(`{"content":[{"type":"text","text":"` + strings.Repeat("x", 3_000_000) + `"}]}`)
	all := &results.Answer{ToolName: "t", Results: []results.Entry{
		{AccountID: "222222222222", Status: proxy.StatusSuccess, Data: big},
		{AccountID: "333333333333", Status: proxy.StatusSuccess, Data: big},
	}}
	encoded, _ := json.Marshal(fitPayload(all))
	if len(encoded) > maxLambdaPayload || !strings.Contains(string(encoded), "exceeds Lambda's 6 MB") || !strings.Contains(string(encoded), `"status":"error"`) {
		t.Errorf("oversized answer: %d bytes: %.300s", len(encoded), encoded)
	}
	small := results.Entry{AccountID: "222222222222", Status: proxy.StatusSuccess, Data: json.RawMessage(`{"content":[]}`)}
	encoded, _ = json.Marshal(fitPayload(small))
	want, _ := json.Marshal(small)
	if string(encoded) != string(want) {
		t.Errorf("a small answer changed: %s", encoded)
	}
}
