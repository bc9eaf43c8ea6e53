package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// RunScriptTool is the upstream tool that runs a Python script calling AWS
// APIs (call_boto3) as the identity that signed the request. It replaced
// aws___call_aws, which the AWS MCP Server removed on 2026-08-31.
const RunScriptTool = "aws___run_script"

// GetTasksTool polls the upstream's long-running tasks (a script that
// answered with a task_id).
const GetTasksTool = "aws___get_tasks"

// iamBounded reports whether a tool acts in AWS only through the signer's
// IAM permissions, so that a session policy bounds what it can do: a
// script or an AWS CLI command runs any API the credentials allow.
func iamBounded(tool string) bool {
	return tool == RunScriptTool || tool == CallAWSTool
}

// SessionPolicy is the session policy the credentials of a call carry.
// The zero value is the role's own permissions.
type SessionPolicy struct {
	// ReadOnly passes the managed read-only policy (--session-policy-arn,
	// ReadOnlyAccess by default).
	ReadOnly bool
	// Inline is an inline session policy (JSON).
	Inline string
}

// none reports whether the policy leaves the role's permissions as they are.
func (p SessionPolicy) none() bool { return !p.ReadOnly && p.Inline == "" }

// secretActions are the IAM actions of SecretReads, sorted, each once.
func secretActions() []string {
	var out []string
	for _, sr := range SecretReads {
		if sr.Action != "" && !slices.Contains(out, sr.Action) {
			out = append(out, sr.Action)
		}
	}
	sort.Strings(out)
	return out
}

type policyStatement struct {
	Sid      string `json:"Sid"`
	Effect   string `json:"Effect"`
	Action   any    `json:"Action"`
	Resource string `json:"Resource"`
}

func policyDocument(statements ...policyStatement) string {
	out, err := json.Marshal(struct {
		Version   string            `json:"Version"`
		Statement []policyStatement `json:"Statement"`
	}{"2012-10-17", statements})
	if err != nil {
		panic(err) // static input
	}
	return string(out)
}

// denySecrets is the statement that denies every secret-bearing read.
func denySecrets() policyStatement {
	return policyStatement{Sid: "NoSecretReadsInFanOut", Effect: "Deny", Action: secretActions(), Resource: "*"}
}

// SecretDenyPolicy is the inline session policy of a read-only fan-out
// session: it only denies the secret-bearing reads, the managed read-only
// policy beside it allows the rest. Session policies combine as IAM
// evaluates policies: an action must be allowed by one of them and denied
// by none (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
func SecretDenyPolicy() string { return policyDocument(denySecrets()) }

// AllButSecretsPolicy is the inline session policy of a write fan-out
// session (--allow-write-fanout): it allows what the role allows and
// denies the secret-bearing reads. Alone, a deny-only session policy would
// allow nothing.
func AllButSecretsPolicy() string {
	return policyDocument(
		policyStatement{Sid: "RolePermissions", Effect: "Allow", Action: "*", Resource: "*"},
		denySecrets())
}

// SecretAllowPolicy is the inline session policy of a read-only fan-out
// session with --allow-secret-fanout: the managed read-only policy beside
// it allows the reads, and this allows the secret-bearing ones too
// (ReadOnlyAccess itself does not grant secretsmanager:GetSecretValue).
func SecretAllowPolicy() string {
	return policyDocument(policyStatement{Sid: "SecretReadsInFanOut", Effect: "Allow", Action: secretActions(), Resource: "*"})
}

// ErrNoSessionPolicy is a per-account failure: the account signs with its
// own credentials (a --profiles account), which cannot carry the session
// policy that would bound the call.
var ErrNoSessionPolicy = errors.New("cannot bound this call")

// policyFor returns the session policy of a call in an account with
// access acc. Every call of a fan-out, whatever its tool, runs in the
// account's one fan-out session: the managed read-only policy plus the secret deny, unless write
// fan-out is allowed (the role's permissions, still without the secret
// reads) or secret fan-out is (the secret reads allowed beside the
// read-only policy, instead of denied). Every other call keeps the
// account's mode: read-only access passes the managed read-only policy.
func (s *Service) policyFor(acc Access, fanout bool) SessionPolicy {
	p := SessionPolicy{ReadOnly: acc.ReadOnly}
	// One session for every tool: a warm process assumes no role again for
	// a second fan-out of another tool.
	if !fanout {
		return p
	}
	switch {
	case acc.AllowWriteFanout && !acc.ReadOnly && s.cfg.AllowSecretFanout:
		return SessionPolicy{}
	case acc.AllowWriteFanout && !acc.ReadOnly:
		return SessionPolicy{Inline: AllButSecretsPolicy()}
	case s.cfg.AllowSecretFanout:
		return SessionPolicy{ReadOnly: true, Inline: SecretAllowPolicy()}
	}
	return SessionPolicy{ReadOnly: true, Inline: SecretDenyPolicy()}
}

// signingPolicy is the session policy the credentials of a call in an
// account carry for the context's caller: none for a profile or IAM
// Identity Center account, which signs with its own credentials.
func (s *Service) signingPolicy(ctx context.Context, a accounts.Account, fanout bool) SessionPolicy {
	if a.Profile != "" || a.SSORole != "" {
		return SessionPolicy{}
	}
	acc, _ := s.access(ctx, a)
	return s.policyFor(acc, fanout)
}

// FanoutPolicy is the session policy a query_all of aws___run_script
// carries in an account for the context's caller (doctor checks that STS
// accepts it).
func (s *Service) FanoutPolicy(ctx context.Context, a accounts.Account) SessionPolicy {
	return s.signingPolicy(ctx, a, true)
}
