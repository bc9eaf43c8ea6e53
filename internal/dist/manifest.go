package main

import (
	"encoding/json"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
)

// mcpbPlatform is the name MCP Bundles give a GOOS (Node.js's
// process.platform).
func mcpbPlatform(goos string) string {
	if goos == "windows" {
		return "win32"
	}
	return goos
}

// userConfig is what a person types when installing the bundle, and the
// environment variable each becomes (the binary reads an empty one as
// unset). Manifest 0.3: https://github.com/modelcontextprotocol/mcpb/blob/main/MANIFEST.md.
var userConfig = []struct {
	key, env string
	spec     map[string]any
}{
	{"sso_session", "AWS_MCP_SSO_SESSION", map[string]any{"type": "string", "title": "IAM Identity Center session",
		"description": "The NAME of the [sso-session NAME] section of ~/.aws/config; sign in first with `aws sso login --sso-session NAME`. Every account the portal gives you, each with its own role. Leave empty to use an accounts file.",
		"default":     ""}},
	{"sso_roles", "AWS_MCP_SSO_ROLES", map[string]any{"type": "string", "title": "IAM Identity Center roles",
		"description": "Comma-separated role (permission set) names or globs, in order of preference. Empty: the read-only ones (ReadOnlyAccess, ViewOnlyAccess, SecurityAudit, ...).",
		"default":     ""}},
	{"accounts_file", "AWS_MCP_ACCOUNTS_FILE", map[string]any{"type": "file", "title": "Accounts file",
		"description": "Instead of IAM Identity Center: a JSON or YAML list of accounts ([{\"id\": \"222222222222\", \"name\": \"prod\"}]), each queried through the role below, assumed with the AWS profile's credentials."}},
	{"aws_profile", "AWS_PROFILE", map[string]any{"type": "string", "title": "AWS profile (with an accounts file)",
		"description": "The profile of ~/.aws/config whose credentials assume the role in each account. Empty: the default chain.",
		"default":     ""}},
	{"role_name", "TARGET_ROLE_NAME", map[string]any{"type": "string", "title": "Role in each account (with an accounts file)",
		"description": "The IAM role assumed in each member account.", "default": "CentralOpsTargetRole"}},
	{"read_only", "AWS_MCP_READ_ONLY", map[string]any{"type": "boolean", "title": "Read-only",
		"description": "Every call runs under a read-only session policy, enforced by IAM; tools that write are refused.", "default": true}},
	{"region", "AWS_REGION", map[string]any{"type": "string", "title": "Default Region",
		"description": "The Region a query targets when it names none.", "default": "us-east-1"}},
}

// Manifest returns the manifest.json (MCPB 0.3) of the bundle for t.
func Manifest(version string, t Target) ([]byte, error) {
	env := map[string]string{}
	config := map[string]any{}
	for _, u := range userConfig {
		env[u.env] = "${user_config." + u.key + "}"
		config[u.key] = u.spec
	}
	tools := []map[string]string{
		{"name": "list_accounts", "description": "The accounts this server can query: a summary of them all, the delegated administrators, then each account."},
		{"name": "query", "description": "Run an AWS MCP Server tool (a Python script calling AWS) in one account."},
		{"name": "query_all", "description": "Run it in every selected account (and Region) in parallel: one answer, identical answers grouped."},
		{"name": "get_result", "description": "Read what an answer left out, or re-project it, without calling AWS again."},
		{"name": "list_tools", "description": "The AWS MCP Server's tools."},
	}
	m := map[string]any{
		"manifest_version": "0.3",
		"name":             buildinfo.Program,
		"display_name":     "AWS, many accounts",
		"version":          strings.TrimPrefix(version, "v"),
		"description":      "Ask AWS questions across many accounts at once, through the AWS MCP Server, each account with its own role.",
		"long_description": "Queries every account of an AWS organization or IAM Identity Center portal in parallel through the managed AWS MCP Server, " +
			"signed with credentials of a role in each account, read-only by default (IAM session policies). Answers fit what the model can read, " +
			"identical answers are grouped, and what is left out is kept for get_result.",
		"author":           map[string]string{"name": "aws-mcp-multi-account contributors"},
		"repository":       map[string]string{"type": "git", "url": "https://" + buildinfo.Module},
		"homepage":         "https://" + buildinfo.Module,
		"license":          "Apache-2.0",
		"keywords":         []string{"aws", "multi-account", "organizations", "iam-identity-center", "mcp"},
		"privacy_policies": []string{"https://aws.amazon.com/privacy/"},
		"server": map[string]any{
			"type":        "binary",
			"entry_point": "server/" + t.exe(),
			"mcp_config": map[string]any{
				// Without .exe: hosts append it on Windows (MANIFEST.md,
				// "Binary Example").
				"command": "${__dirname}/server/" + buildinfo.Program,
				"args":    []string{},
				"env":     env,
			},
		},
		"tools":         tools,
		"compatibility": map[string]any{"platforms": []string{mcpbPlatform(t.GOOS)}},
		"user_config":   config,
	}
	return json.MarshalIndent(m, "", "  ")
}
