package proxy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
)

// TestSessionPoliciesFitSTS: the inline policy and the managed read-only
// ARN of a fan-out session stay within STS's 2,048 plaintext characters,
// and the deny names every secret action of guard.SecretReads.
func TestSessionPoliciesFitSTS(t *testing.T) {
	arn := "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"
	for name, policy := range map[string]string{
		"deny": guard.SecretDenyPolicy(), "allow all but secrets": guard.AllButSecretsPolicy(), "allow secrets": guard.SecretAllowPolicy(),
	} {
		if n := len(policy) + len(arn); n > 2048 {
			t.Errorf("%s: %d characters with the ARN, over STS's 2,048", name, n)
		}
		var doc struct {
			Version   string
			Statement []struct {
				Effect string
				Action any
			}
		}
		if err := json.Unmarshal([]byte(policy), &doc); err != nil || doc.Version != "2012-10-17" {
			t.Errorf("%s: %v %s", name, err, policy)
		}
		t.Logf("%s: %d characters", name, len(policy))
	}
	for _, sr := range guard.SecretReads {
		if sr.Action != "" && !strings.Contains(guard.SecretDenyPolicy(), `"`+sr.Action+`"`) {
			t.Errorf("the deny lacks %s", sr.Action)
		}
	}
	for _, a := range []string{"secretsmanager:GetSecretValue", "kms:Decrypt", "ecr:GetAuthorizationToken", "ec2:GetPasswordData",
		"lambda:GetFunction", "sts:GetSessionToken", "sts:GetFederationToken", "codeartifact:GetAuthorizationToken",
		"redshift:GetClusterCredentials*", "redshift-serverless:GetCredentials", "sso:GetRoleCredentials",
		"ecr-public:GetAuthorizationToken", "secretsmanager:BatchGetSecretValue"} {
		if !strings.Contains(guard.SecretDenyPolicy(), `"`+a+`"`) {
			t.Errorf("the deny lacks %s", a)
		}
	}
}

// TestPolicyForFanouts: which session policy each mode gives a call.
func TestPolicyForFanouts(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		acc    Access
		tool   string
		fanout bool
		want   SessionPolicy
	}{
		{"script fan-out", Config{}, Access{}, RunScriptTool, true, SessionPolicy{ReadOnly: true, Inline: guard.SecretDenyPolicy()}},
		{"CLI fan-out", Config{}, Access{}, CallAWSTool, true, SessionPolicy{ReadOnly: true, Inline: guard.SecretDenyPolicy()}},
		{"write fan-out", Config{AllowWriteFanout: true}, Access{AllowWriteFanout: true}, RunScriptTool, true, SessionPolicy{Inline: guard.AllButSecretsPolicy()}},
		{"write and secret fan-out", Config{AllowWriteFanout: true, AllowSecretFanout: true}, Access{AllowWriteFanout: true}, RunScriptTool, true, SessionPolicy{}},
		{"secret fan-out", Config{AllowSecretFanout: true}, Access{}, RunScriptTool, true, SessionPolicy{ReadOnly: true, Inline: guard.SecretAllowPolicy()}},
		{"read-only caller with write fan-out", Config{}, Access{ReadOnly: true, AllowWriteFanout: true}, RunScriptTool, true, SessionPolicy{ReadOnly: true, Inline: guard.SecretDenyPolicy()}},
		{"query", Config{}, Access{}, RunScriptTool, false, SessionPolicy{}},
		{"query, read-only", Config{}, Access{ReadOnly: true}, RunScriptTool, false, SessionPolicy{ReadOnly: true}},
		{"documentation fan-out: the same fan-out session", Config{}, Access{}, "aws___search_documentation", true, SessionPolicy{ReadOnly: true, Inline: guard.SecretDenyPolicy()}},
	}
	for _, tt := range tests {
		s := New(tt.cfg, nil, nil, nil, nil)
		if got := s.policyFor(tt.acc, tt.fanout); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
