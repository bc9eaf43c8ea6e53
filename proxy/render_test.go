package proxy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRenderQueryAllCapsEachAnswer(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxTextPerResult) // two bytes a rune
	data, _ := json.Marshal(map[string]any{"content": []map[string]string{{"type": "text", "text": long}}})
	out := renderQueryAll(&QueryAllResult{ToolName: "t", Results: []Result{
		{AccountID: "222222222222", Name: "a", Region: "us-east-1", Status: StatusSuccess, Data: data},
		{AccountID: "333333333333", Name: "b", Region: "us-east-1", Status: StatusError, Error: "AccessDenied"},
	}, Summary: Summary{Total: 2, Succeeded: 1, Failed: 1, Accounts: 2, Regions: 1}})
	if !utf8.ValidString(out) {
		t.Error("the text was cut inside a rune")
	}
	if len(out) > maxTextPerResult+1024 || !strings.Contains(out, "the whole answer is in structuredContent") {
		t.Errorf("text of %d bytes, want the answer capped with a note", len(out))
	}
	if !strings.Contains(out, "1 of 2 succeeded, 1 failed (2 accounts, 1 region") || !strings.Contains(out, "AccessDenied") {
		t.Errorf("summary or error missing:\n%.300s", out)
	}
	short := clip("small", 10)
	if short != "small" {
		t.Errorf("clip changed a short text: %q", short)
	}
}
