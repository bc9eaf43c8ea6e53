package fakeaws

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// The fake decides each AWS API call a script makes the way IAM decides a
// request signed with temporary credentials that carry session policies
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session):
// the role itself may do anything (the member role of the fakes is an
// administrator); with session policies, an action must be allowed by at
// least one of them (managed or inline) and explicitly denied by none.
// The only managed policies the fake knows are ReadOnlyAccess and
// ViewOnlyAccess, both modelled by readOnlyAccessAllows.

// maxSessionPolicyChars is STS's limit on the plaintext of the inline and
// managed session policies of one AssumeRole together.
const maxSessionPolicyChars = 2048

// validateSessionPolicies checks an AssumeRole's session policies as STS
// does: at most 10 managed ARNs, an inline policy of valid JSON and at most
// 2,048 characters in the allowed range, and 2,048 plaintext characters in
// all (reported as PackedPolicyTooLarge).
func validateSessionPolicies(inline string, arns []string) *APIError {
	if len(arns) > 10 {
		return &APIError{400, "ValidationError", "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"}
	}
	if inline == "" {
		return nil
	}
	if len(inline) > maxSessionPolicyChars {
		return &APIError{400, "ValidationError", "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"}
	}
	for _, r := range inline {
		if !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xFF)) {
			return &APIError{400, "ValidationError", "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"}
		}
	}
	total := len(inline)
	for _, a := range arns {
		total += len(a)
	}
	if total > maxSessionPolicyChars {
		return &APIError{400, "PackedPolicyTooLarge", fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", total*100/maxSessionPolicyChars)}
	}
	if _, err := parsePolicy(inline); err != nil {
		return &APIError{400, "MalformedPolicyDocument", "The policy is not in the valid JSON format: " + err.Error()}
	}
	return nil
}

// policyStatement is one statement of a policy document, as far as the
// fake evaluates it: Effect and Action (Resource is taken as "*").
type policyStatement struct {
	Effect  string
	Actions []string
}

// parsePolicy reads a policy document. Statement may be one object or a
// list; Action one string or a list. NotAction, NotResource and Condition
// are refused, so a test cannot pass on a policy the fake misreads.
func parsePolicy(doc string) ([]policyStatement, error) {
	var d struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, err
	}
	if d.Version != "2012-10-17" {
		return nil, fmt.Errorf("version %q: want 2012-10-17", d.Version)
	}
	var raw []map[string]json.RawMessage
	if json.Unmarshal(d.Statement, &raw) != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(d.Statement, &one); err != nil {
			return nil, fmt.Errorf("statement: %w", err)
		}
		raw = []map[string]json.RawMessage{one}
	}
	var out []policyStatement
	for _, st := range raw {
		for k := range st {
			switch k {
			case "Sid", "Effect", "Action", "Resource":
			default:
				return nil, fmt.Errorf("the fake does not evaluate %s", k)
			}
		}
		var s policyStatement
		if err := json.Unmarshal(st["Effect"], &s.Effect); err != nil || (s.Effect != "Allow" && s.Effect != "Deny") {
			return nil, fmt.Errorf("effect must be Allow or Deny")
		}
		if json.Unmarshal(st["Action"], &s.Actions) != nil {
			var one string
			if err := json.Unmarshal(st["Action"], &one); err != nil {
				return nil, fmt.Errorf("action: %w", err)
			}
			s.Actions = []string{one}
		}
		out = append(out, s)
	}
	return out, nil
}

// actionMatches reports whether an IAM action pattern ("ec2:Describe*",
// "*") matches an action; IAM compares actions case-insensitively.
func actionMatches(pattern, action string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return err == nil && ok
}

// readOnlyPrefixes are the operation prefixes ReadOnlyAccess grants
// (Describe*, Get*, List*, ... of every service).
var readOnlyAccessPrefixes = []string{"Describe", "Get", "List", "BatchGet", "Search", "Lookup", "Scan", "Query", "Select", "View"}

// readOnlyAccessExceptions are reads ReadOnlyAccess does not grant.
var readOnlyAccessExceptions = map[string]bool{
	"secretsmanager:getsecretvalue":      true,
	"secretsmanager:batchgetsecretvalue": true,
}

// readOnlyAccessAllows models the AWS managed policy ReadOnlyAccess: the
// reads of every service, except the secret values of Secrets Manager. It
// grants, as the real policy does, ssm:GetParameter (with decryption),
// ecr:GetAuthorizationToken, ec2:GetPasswordData and lambda:GetFunction.
func readOnlyAccessAllows(action string) bool {
	if readOnlyAccessExceptions[strings.ToLower(action)] {
		return false
	}
	_, op, ok := strings.Cut(action, ":")
	if !ok {
		return false
	}
	for _, p := range readOnlyAccessPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// Decision is IAM's answer for one action.
type Decision int

// Decisions.
const (
	Allowed Decision = iota
	// ImplicitDeny: no session policy allows the action.
	ImplicitDeny
	// ExplicitDeny: a session policy denies it.
	ExplicitDeny
)

// Decide evaluates an action against the session policies of the
// credential that signed the request. grantedByResource marks an action a
// resource policy grants every principal of the account (kms:Decrypt with
// the aws/ssm key): only an explicit deny stops it.
func (c Credential) Decide(action string, grantedByResource bool) Decision {
	if c.Policy == "" && len(c.PolicyARNs) == 0 {
		return Allowed
	}
	statements, err := parsePolicy(c.Policy)
	if c.Policy != "" && err != nil {
		return ImplicitDeny
	}
	allowed := grantedByResource
	for _, s := range statements {
		for _, a := range s.Actions {
			if !actionMatches(a, action) {
				continue
			}
			if s.Effect == "Deny" {
				return ExplicitDeny
			}
			allowed = true
		}
	}
	for _, arn := range c.PolicyARNs {
		if strings.HasSuffix(arn, ":policy/ReadOnlyAccess") || strings.HasSuffix(arn, ":policy/job-function/ViewOnlyAccess") {
			allowed = allowed || readOnlyAccessAllows(action)
		}
	}
	if allowed {
		return Allowed
	}
	return ImplicitDeny
}
