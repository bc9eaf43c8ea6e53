package proxy

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
)

// ProfileCredentials resolves the credentials of a local AWS config profile.
type ProfileCredentials interface {
	ForProfile(ctx context.Context, profile string) (aws.CredentialsProvider, error)
}

// SSOCredentials resolves the credentials of an IAM Identity Center role.
type SSOCredentials interface {
	ForRole(account, role string) aws.CredentialsProvider
}

// AccountCredentials gives each account the credentials of the role assumed
// in it (with the account's own role name, ExternalId and session length
// when it overrides them), of its local profile, or of its IAM Identity
// Center role. On a shared server, a
// caller with its own RoleSessionName or SourceIdentity, or with read-only
// access, gets credentials of its own, never shared with another caller.
type AccountCredentials struct {
	Roles    *auth.Store
	Profiles ProfileCredentials
	SSO      SSOCredentials
}

// For returns the account's credentials provider for the context's caller,
// and a key naming those credentials: calls with the same key may share an
// upstream session.
//
// A profile or IAM Identity Center account signs with credentials that
// carry no session policy: the caller checks that the call needs none.
func (c *AccountCredentials) For(ctx context.Context, a accounts.Account, p SessionPolicy) (aws.CredentialsProvider, string, error) {
	if a.Profile != "" && c.Profiles != nil {
		prov, err := c.Profiles.ForProfile(ctx, a.Profile)
		return prov, a.ID, err
	}
	if a.SSORole != "" {
		if c.SSO == nil {
			return nil, "", fmt.Errorf("account %s signs with IAM Identity Center role %s, and no sso-session is configured", a.ID, a.SSORole)
		}
		return c.SSO.ForRole(a.ID, a.SSORole), a.ID + "|sso|" + a.SSORole, nil
	}
	t := roleTarget(ctx, a)
	t.ReadOnly = t.ReadOnly || p.ReadOnly
	t.Policy = p.Inline
	key := a.ID
	if t.SessionName != "" || t.SourceIdentity != "" || t.ReadOnly || t.Policy != "" || t.Owner != "" {
		key = fmt.Sprintf("%s|%s|%s|%s|%t|%x", a.ID, t.Owner, t.SessionName, t.SourceIdentity, t.ReadOnly, sha256.Sum256([]byte(t.Policy)))
	}
	return c.Roles.ForRole(t), key, nil
}

// SessionName names the account's session in audit lines: the
// RoleSessionName CloudTrail records, or the profile.
func (c *AccountCredentials) SessionName(ctx context.Context, a accounts.Account) string {
	switch {
	case a.Profile != "":
		return "profile:" + a.Profile
	case a.SSORole != "":
		return "sso:" + a.SSORole
	}
	return c.Roles.SessionName(roleTarget(ctx, a))
}

// RoleARN returns the role assumed in the account ("" for profile and IAM
// Identity Center accounts).
func (c *AccountCredentials) RoleARN(a accounts.Account) string {
	if a.Profile != "" || a.SSORole != "" {
		return ""
	}
	return c.Roles.RoleARN(roleTarget(context.Background(), a))
}

// roleTarget is the role assumed in an account for the context's caller.
func roleTarget(ctx context.Context, a accounts.Account) auth.RoleTarget {
	t := auth.RoleTarget{AccountID: a.ID, RoleName: a.RoleName, ExternalID: a.ExternalID, Duration: a.SessionDuration}
	if caller := CallerFrom(ctx); caller != nil {
		t.Owner, t.SessionName, t.SourceIdentity = caller.ID, caller.SessionName, caller.SourceIdentity
		if caller.Scope != nil {
			acc, _ := caller.Scope.Access(a)
			t.ReadOnly = acc.ReadOnly
		}
	}
	return t
}
