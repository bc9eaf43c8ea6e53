package proxy

import (
	"context"

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
// when it overrides them), or of its local profile.
type AccountCredentials struct {
	Roles    *auth.Store
	Profiles ProfileCredentials
}

// For returns the account's credentials provider.
func (c *AccountCredentials) For(ctx context.Context, a accounts.Account) (aws.CredentialsProvider, error) {
	if a.Profile != "" && c.Profiles != nil {
		return c.Profiles.ForProfile(ctx, a.Profile)
	}
	return c.Roles.ForRole(roleTarget(a)), nil
}

// SessionName names the account's session in audit lines.
func (c *AccountCredentials) SessionName(a accounts.Account) string {
	if a.Profile != "" {
		return "profile:" + a.Profile
	}
	return c.Roles.SessionName(a.ID)
}

// RoleARN returns the role assumed in the account ("" for profile accounts).
func (c *AccountCredentials) RoleARN(a accounts.Account) string {
	if a.Profile != "" {
		return ""
	}
	return c.Roles.RoleARN(roleTarget(a))
}

func roleTarget(a accounts.Account) auth.RoleTarget {
	return auth.RoleTarget{AccountID: a.ID, RoleName: a.RoleName, ExternalID: a.ExternalID, Duration: a.SessionDuration}
}
