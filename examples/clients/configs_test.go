// Package clients holds example MCP client configurations for the stdio
// build; its test keeps them parseable and their accounts valid.
package clients

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// binary is the program every configuration must start.
const binary = "aws-mcp-multi-account"

// server is one MCP server entry of a client configuration.
type server struct {
	Type    string            `json:"type"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// TestClientConfigs checks each client file: valid JSON in the client's own
// layout, a server entry that runs the binary over stdio, and accounts the
// program's parser accepts.
func TestClientConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		serversKey string // "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code)
		wantType   string // required "type", if the client needs one
		absolute   bool   // command must be an absolute path
	}{
		{"claude_desktop_config.json", "mcpServers", "", true},
		{"cursor-mcp.json", "mcpServers", "", false},
		{"vscode-mcp.json", "servers", "stdio", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(data, &top); err != nil {
				t.Fatalf("%s is not JSON: %v", tc.file, err)
			}
			var servers map[string]server
			if err := json.Unmarshal(top[tc.serversKey], &servers); err != nil || len(servers) == 0 {
				t.Fatalf("%s: want a non-empty %q object (err %v)", tc.file, tc.serversKey, err)
			}
			for name, s := range servers {
				checkServer(t, name, s, tc.wantType, tc.absolute)
			}
		})
	}
}

// checkServer checks one server entry.
func checkServer(t *testing.T, name string, s server, wantType string, absolute bool) {
	t.Helper()
	if filepath.Base(s.Command) != binary {
		t.Errorf("%s: command %q does not run %s", name, s.Command, binary)
	}
	if absolute && !filepath.IsAbs(s.Command) {
		t.Errorf("%s: command %q must be an absolute path (the client does not read PATH)", name, s.Command)
	}
	if s.Type != wantType {
		t.Errorf("%s: type %q, want %q", name, s.Type, wantType)
	}
	if len(s.Args) > 0 && s.Args[0] != "serve" {
		t.Errorf("%s: args %v: want the serve command (stdio)", name, s.Args)
	}
	if s.Env["AWS_PROFILE"] == "" {
		t.Errorf("%s: no AWS_PROFILE: the central credentials should be explicit", name)
	}
	inline, file := s.Env["TARGET_ACCOUNTS"], s.Env["AWS_MCP_ACCOUNTS_FILE"]
	switch {
	case inline != "":
		checkAccounts(t, name+": TARGET_ACCOUNTS", []byte(inline), accounts.SourceEnv)
	case file != "":
		// ${workspaceFolder}/accounts.json in the example is the file beside this test.
		local := filepath.Base(file)
		data, err := os.ReadFile(local)
		if err != nil {
			t.Fatalf("%s: accounts file %s: %v", name, file, err)
		}
		checkAccounts(t, name+": "+local, data, accounts.SourceFile)
	case !strings.EqualFold(s.Env["AWS_MCP_ORG"], "true"):
		t.Errorf("%s: no accounts: set TARGET_ACCOUNTS, AWS_MCP_ACCOUNTS_FILE or AWS_MCP_ORG", name)
	}
}

// checkAccounts parses accounts as the program does; an example must not
// even draw a warning (such as an unknown field).
func checkAccounts(t *testing.T, what string, data []byte, source string) {
	t.Helper()
	accts, warnings, err := accounts.ParseWithWarnings(data, source)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if len(accts) == 0 || len(warnings) > 0 {
		t.Errorf("%s: %d accounts, warnings %v", what, len(accts), warnings)
	}
}
