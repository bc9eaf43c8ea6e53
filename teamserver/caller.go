package teamserver

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// Identity says how a verified token becomes the proxy's caller.
type Identity struct {
	// Issuer is the token issuer; a caller's id is issuer and subject.
	Issuer string
	// SessionName is the RoleSessionName template: "{caller}" becomes the
	// caller's email (else preferred_username, else subject), so CloudTrail
	// in the member account names the person; without it, callers share
	// the template's credentials.
	SessionName string
	// SourceIdentityClaim names the claim whose value goes to every
	// AssumeRole as sts:SourceIdentity; "" for none.
	SourceIdentityClaim string
	// Policy scopes callers; nil reaches every account.
	Policy *Policy
}

var iamUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// iamName keeps the characters IAM allows in a RoleSessionName or
// SourceIdentity, at most 64 of them.
func iamName(s string) string {
	s = iamUnsafe.ReplaceAllString(s, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Caller builds the proxy's caller from verified claims. An email the
// token itself says is unverified (email_verified false) is not the
// caller's: it is dropped before rules match, {caller} is named and the
// source identity is taken.
func (id Identity) Caller(c Claims) (*proxy.Caller, error) {
	c = c.verifiedEmail()
	sub := c.String("sub")
	caller := &proxy.Caller{ID: id.Issuer + "#" + sub, Subject: sub, Email: c.String("email")}
	if strings.Contains(id.SessionName, "{caller}") {
		name := caller.Email
		for _, claim := range []string{"preferred_username", "username"} {
			if name == "" {
				name = c.String(claim)
			}
		}
		if name == "" {
			name = sub
		}
		caller.SessionName = strings.ReplaceAll(id.SessionName, "{caller}", iamName(name))
	}
	if id.SourceIdentityClaim != "" {
		v := iamName(fmt.Sprint(claimValue(c, id.SourceIdentityClaim)))
		if claimValue(c, id.SourceIdentityClaim) == nil || len(v) < 2 {
			return nil, fmt.Errorf("%w: the token has no usable %q claim, which this server passes as sts:SourceIdentity", ErrInvalidToken, id.SourceIdentityClaim)
		}
		caller.SourceIdentity = v
	}
	caller.Scope = everything{}
	if id.Policy != nil {
		caller.Scope, _ = id.Policy.ScopeFor(c)
	}
	return caller, nil
}

// verifiedEmail returns the claims without email when email_verified is
// false (a boolean, or the string some IdPs, Cognito among them, send).
// An absent email_verified leaves the email: many IdPs only put verified
// addresses in tokens and never say so.
func (c Claims) verifiedEmail() Claims {
	v, ok := c["email_verified"]
	if !ok || (v != false && v != "false") {
		return c
	}
	out := make(Claims, len(c))
	for k, v := range c {
		if k != "email" {
			out[k] = v
		}
	}
	return out
}
