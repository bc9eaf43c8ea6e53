package proxy

import (
	"strings"
	"testing"
)

// TestSchemaArgs: each tool takes exactly the properties its schema
// declares, in the schema's order (ParseArgs's error lists them so).
func TestSchemaArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"list_accounts", listAccountsArgs, "accounts tags ou offset max_bytes"},
		{"list_tools", listToolsArgs, "account_id"},
		{"query", queryArgs, "account_id tool_name arguments region jmespath max_bytes"},
		{"query_all", queryAllArgs, "tool_name arguments region regions accounts tags ou jmespath max_bytes reply_within_s"},
		{"get_result", getResultArgs, "result_id account_id region jmespath offset raw max_bytes"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.got, " "); got != tt.want {
			t.Errorf("%s takes %q, want %q", tt.name, got, tt.want)
		}
	}
}
