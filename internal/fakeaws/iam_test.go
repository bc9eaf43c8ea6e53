package fakeaws

import (
	"strings"
	"testing"
	"time"
)

const readOnlyAccess = "arn:aws:iam::aws:policy/ReadOnlyAccess"

// TestDecide: the fake's IAM decision from session policies.
func TestDecide(t *testing.T) {
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["secretsmanager:GetSecretValue","kms:Decrypt"],"Resource":"*"}]}`
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":["kms:Decrypt"],"Resource":"*"}]}`
	tests := []struct {
		name     string
		cred     Credential
		action   string
		resource bool
		want     Decision
	}{
		{"no session policy: the role's permissions", Credential{}, "ec2:TerminateInstances", false, Allowed},
		{"ReadOnlyAccess allows a read", Credential{PolicyARNs: []string{readOnlyAccess}}, "ec2:DescribeInstances", false, Allowed},
		{"ReadOnlyAccess does not allow a write", Credential{PolicyARNs: []string{readOnlyAccess}}, "ec2:TerminateInstances", false, ImplicitDeny},
		{"ReadOnlyAccess does not allow GetSecretValue", Credential{PolicyARNs: []string{readOnlyAccess}}, "secretsmanager:GetSecretValue", false, ImplicitDeny},
		{"ReadOnlyAccess allows GetPasswordData", Credential{PolicyARNs: []string{readOnlyAccess}}, "ec2:GetPasswordData", false, Allowed},
		{"a key policy grants kms:Decrypt", Credential{PolicyARNs: []string{readOnlyAccess}}, "kms:Decrypt", true, Allowed},
		{"an explicit deny beats the key policy", Credential{PolicyARNs: []string{readOnlyAccess}, Policy: deny}, "kms:Decrypt", true, ExplicitDeny},
		{"a deny-only inline policy allows nothing alone", Credential{Policy: deny}, "ec2:DescribeInstances", false, ImplicitDeny},
		{"allow all but a deny", Credential{Policy: allowAll}, "ec2:TerminateInstances", false, Allowed},
		{"actions match case-insensitively", Credential{Policy: allowAll}, "KMS:decrypt", false, ExplicitDeny},
	}
	for _, tt := range tests {
		if got := tt.cred.Decide(tt.action, tt.resource); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestValidateSessionPolicies: STS's limits on session policies.
func TestValidateSessionPolicies(t *testing.T) {
	long := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["` + strings.Repeat("a", 2040) + `"],"Resource":"*"}]}`
	tests := []struct {
		name, inline string
		arns         []string
		want         string // error code, "" for none
	}{
		{"none", "", nil, ""},
		{"valid", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}`, []string{readOnlyAccess}, ""},
		{"too long", long, nil, "ValidationError"},
		{"packed too large", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["` + strings.Repeat("a", 1960) + `"],"Resource":"*"}]}`, []string{readOnlyAccess}, "PackedPolicyTooLarge"},
		{"malformed", `{"Version":`, nil, "MalformedPolicyDocument"},
		{"a condition the fake does not evaluate", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{}}]}`, nil, "MalformedPolicyDocument"},
		{"more than 10 ARNs", "", make([]string, 11), "ValidationError"},
	}
	for _, tt := range tests {
		err := validateSessionPolicies(tt.inline, tt.arns)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || err.Code != tt.want):
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
}

// TestParseScript: the call_boto3 calls and sleeps the fake reads.
func TestParseScript(t *testing.T) {
	code := "import asyncio\nawait asyncio.sleep(1.5)\n" +
		"a = await call_boto3(service_name='ec2', operation_name='DescribeInstances', region_name='eu-west-1')\n" +
		`b = await call_boto3("ssm", "GetParameter", params={"Name": "x", "WithDecryption": True})` + "\nb"
	calls, sleep, err := parseScript(code)
	if err != nil {
		t.Fatal(err)
	}
	if sleep != 1500*time.Millisecond || len(calls) != 2 {
		t.Fatalf("sleep %s, calls %+v", sleep, calls)
	}
	if c := calls[0]; c.service != "ec2" || c.operation != "DescribeInstances" || c.region != "eu-west-1" || c.decrypt {
		t.Errorf("first call %+v", c)
	}
	if c := calls[1]; c.service != "ssm" || c.operation != "GetParameter" || !c.decrypt {
		t.Errorf("second call %+v", c)
	}
	if _, _, err := parseScript("await call_boto3(service_name='ec2'"); err == nil {
		t.Error("an unclosed call parsed")
	}
	if _, _, err := parseScript("await call_boto3(params={})"); err == nil {
		t.Error("a call without service and operation parsed")
	}
}
