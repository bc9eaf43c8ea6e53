package proxy

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSessionPoliciesFitSTS: the inline policy and the managed read-only
// ARN of a fan-out session stay within STS's 2,048 plaintext characters,
// and the deny names every secret action of SecretReads.
func TestSessionPoliciesFitSTS(t *testing.T) {
	arn := "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"
	for name, policy := range map[string]string{
		"deny": SecretDenyPolicy(), "allow all but secrets": AllButSecretsPolicy(), "allow secrets": SecretAllowPolicy(),
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
	for _, sr := range SecretReads {
		if sr.Action != "" && !strings.Contains(SecretDenyPolicy(), `"`+sr.Action+`"`) {
			t.Errorf("the deny lacks %s", sr.Action)
		}
	}
	for _, a := range []string{"secretsmanager:GetSecretValue", "kms:Decrypt", "ecr:GetAuthorizationToken", "ec2:GetPasswordData",
		"lambda:GetFunction", "sts:GetSessionToken", "sts:GetFederationToken", "codeartifact:GetAuthorizationToken",
		"redshift:GetClusterCredentials*", "redshift-serverless:GetCredentials", "sso:GetRoleCredentials",
		"ecr-public:GetAuthorizationToken", "secretsmanager:BatchGetSecretValue"} {
		if !strings.Contains(SecretDenyPolicy(), `"`+a+`"`) {
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
		{"script fan-out", Config{}, Access{}, RunScriptTool, true, SessionPolicy{ReadOnly: true, Inline: SecretDenyPolicy()}},
		{"CLI fan-out", Config{}, Access{}, CallAWSTool, true, SessionPolicy{ReadOnly: true, Inline: SecretDenyPolicy()}},
		{"write fan-out", Config{AllowWriteFanout: true}, Access{AllowWriteFanout: true}, RunScriptTool, true, SessionPolicy{Inline: AllButSecretsPolicy()}},
		{"write and secret fan-out", Config{AllowWriteFanout: true, AllowSecretFanout: true}, Access{AllowWriteFanout: true}, RunScriptTool, true, SessionPolicy{}},
		{"secret fan-out", Config{AllowSecretFanout: true}, Access{}, RunScriptTool, true, SessionPolicy{ReadOnly: true, Inline: SecretAllowPolicy()}},
		{"read-only caller with write fan-out", Config{}, Access{ReadOnly: true, AllowWriteFanout: true}, RunScriptTool, true, SessionPolicy{ReadOnly: true, Inline: SecretDenyPolicy()}},
		{"query", Config{}, Access{}, RunScriptTool, false, SessionPolicy{}},
		{"query, read-only", Config{}, Access{ReadOnly: true}, RunScriptTool, false, SessionPolicy{ReadOnly: true}},
		{"documentation fan-out: the same fan-out session", Config{}, Access{}, "aws___search_documentation", true, SessionPolicy{ReadOnly: true, Inline: SecretDenyPolicy()}},
	}
	for _, tt := range tests {
		s := New(tt.cfg, nil, nil, nil, nil)
		if got := s.policyFor(tt.acc, tt.fanout); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
