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

// AccountCredentials gives each account the credentials of the role assumed
// in it (with the account's own role name, ExternalId and session length
// when it overrides them), or of its local profile. On a shared server, a
// caller with its own RoleSessionName or SourceIdentity, or with read-only
// access, gets credentials of its own, never shared with another caller.
type AccountCredentials struct {
	Roles    *auth.Store
	Profiles ProfileCredentials
}

// For returns the account's credentials provider for the context's caller,
// and a key naming those credentials: calls with the same key may share an
// upstream session.
//
// A profile account signs with its profile's own credentials, which carry
// no session policy: the caller checks that the call needs none.
func (c *AccountCredentials) For(ctx context.Context, a accounts.Account, p SessionPolicy) (aws.CredentialsProvider, string, error) {
	if a.Profile != "" && c.Profiles != nil {
		prov, err := c.Profiles.ForProfile(ctx, a.Profile)
		return prov, a.ID, err
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
	if a.Profile != "" {
		return "profile:" + a.Profile
	}
	return c.Roles.SessionName(roleTarget(ctx, a))
}

// RoleARN returns the role assumed in the account ("" for profile accounts).
func (c *AccountCredentials) RoleARN(a accounts.Account) string {
	if a.Profile != "" {
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
