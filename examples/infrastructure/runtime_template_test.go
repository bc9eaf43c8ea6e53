package infrastructure

import (
	"os"
	"testing"
)

// TestRuntimeTemplateFollowsTheContract: the AgentCore Runtime template
// runs the MCP protocol, lets the Authorization header reach the container
// (the server verifies the token again), admits the clients the server
// accepts, and starts the server with the Runtime preset.
func TestRuntimeTemplateFollowsTheContract(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("agentcore-runtime.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root, err := parseTemplate(data)
	if err != nil {
		t.Fatal(err)
	}
	props := lookupPath(root, "Resources", "Runtime", "Properties")
	if props == nil {
		t.Fatal("no Resources.Runtime.Properties")
	}
	if v := lookupPath(props, "ProtocolConfiguration"); v == nil || v.Value != "MCP" {
		t.Errorf("ProtocolConfiguration %v, want MCP", v)
	}
	allow := lookupPath(props, "RequestHeaderConfiguration", "RequestHeaderAllowlist")
	found := false
	if allow != nil {
		for _, h := range allow.Content {
			found = found || h.Value == "Authorization"
		}
	}
	if !found {
		t.Error("Authorization is not in the RequestHeaderAllowlist: the token would not reach the server")
	}
	if lookupPath(props, "AuthorizerConfiguration", "CustomJWTAuthorizer", "AllowedClients") == nil {
		t.Error("the JWT authorizer names no AllowedClients")
	}
	env := lookupPath(props, "EnvironmentVariables")
	for _, name := range []string{"AWS_MCP_AGENTCORE_RUNTIME", "AWS_MCP_OIDC_ISSUER", "AWS_MCP_OIDC_AUDIENCE", "AWS_MCP_OIDC_CLIENT_IDS", "AWS_MCP_RESULTS_BUCKET"} {
		if mappingValue(env, name) == nil {
			t.Errorf("the container gets no %s", name)
		}
	}
	if v := mappingValue(env, "AWS_MCP_AGENTCORE_RUNTIME"); v != nil && v.Value != "true" {
		t.Errorf("AWS_MCP_AGENTCORE_RUNTIME is %q", v.Value)
	}
}
