package proxy

import (
	"context"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
)

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
		return SessionPolicy{Inline: guard.AllButSecretsPolicy()}
	case s.cfg.AllowSecretFanout:
		return SessionPolicy{ReadOnly: true, Inline: guard.SecretAllowPolicy()}
	}
	return SessionPolicy{ReadOnly: true, Inline: guard.SecretDenyPolicy()}
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
