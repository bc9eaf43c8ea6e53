package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/auth/bearer"
)

// SSOStore hands out the credentials of IAM Identity Center roles: each
// account's chosen role through the portal's GetRoleCredentials (the SDK's
// ssocreds provider), cached until shortly before they expire, concurrent
// misses collapsed (aws.CredentialsCache). The bearer token is the one
// aws sso login left in the token cache, refreshed by the SDK through SSO
// OIDC while its refresh token is valid; it is read again at every miss,
// so a new login works without a restart.
type SSOStore struct {
	portal   ssocreds.GetRoleCredentialsAPIClient
	tokens   *ssocreds.SSOTokenProvider
	session  string
	startURL string
	calls    atomic.Int64

	mu        sync.Mutex
	providers map[string]*aws.CredentialsCache
}

// NewSSOStore returns the store of one sso-session: its portal client, its
// token provider, its name (for the advice to log in) and its start URL.
func NewSSOStore(portal ssocreds.GetRoleCredentialsAPIClient, tokens *ssocreds.SSOTokenProvider, session, startURL string) *SSOStore {
	s := &SSOStore{tokens: tokens, session: session, startURL: startURL, providers: map[string]*aws.CredentialsCache{}}
	s.portal = countingPortal{portal, &s.calls}
	return s
}

// GetRoleCredentialsCalls counts the portal's GetRoleCredentials calls.
func (s *SSOStore) GetRoleCredentialsCalls() int64 { return s.calls.Load() }

// Token returns the portal's bearer token, or a LoginError saying how to
// sign in again.
func (s *SSOStore) Token(ctx context.Context) (string, error) {
	t, err := s.bearerToken(ctx)
	return t.Value, err
}

// TokenExpiry returns when the cached token expires (zero when unknown).
func (s *SSOStore) TokenExpiry(ctx context.Context) (time.Time, error) {
	t, err := s.bearerToken(ctx)
	return t.Expires, err
}

// bearerToken reads the token (refreshing it if need be); a failure is a
// LoginError.
func (s *SSOStore) bearerToken(ctx context.Context) (bearer.Token, error) {
	t, err := s.tokens.RetrieveBearerToken(ctx)
	if err != nil {
		return bearer.Token{}, s.loginError(err)
	}
	return t, nil
}

// ForRole returns the credentials of role in account.
func (s *SSOStore) ForRole(account, role string) aws.CredentialsProvider {
	key := account + "/" + role
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.providers[key]; ok {
		return p
	}
	inner := ssocreds.New(s.portal, account, role, s.startURL, func(o *ssocreds.Options) { o.SSOTokenProvider = s.tokens })
	p := aws.NewCredentialsCache(ssoProvider{inner, s}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = DefaultExpiryWindow
	})
	s.providers[key] = p
	return p
}

// ssoProvider turns an expired or revoked session into a LoginError.
type ssoProvider struct {
	inner aws.CredentialsProvider
	store *SSOStore
}

func (p ssoProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	// The token first: every failure to get one is the person's to fix by
	// signing in again (no cache file, expired, a refresh refused).
	if _, err := p.store.Token(ctx); err != nil {
		return aws.Credentials{}, err
	}
	c, err := p.inner.Retrieve(ctx)
	switch {
	case err == nil:
		return c, nil
	case isTokenFailure(err):
		return c, p.store.loginError(err)
	}
	return c, fmt.Errorf("IAM Identity Center GetRoleCredentials: %w", err)
}

// ErrSSOLogin is wrapped by every failure a new aws sso login fixes.
var ErrSSOLogin = errors.New("IAM Identity Center sign-in needed")

// LoginError is an expired, revoked or missing IAM Identity Center token.
type LoginError struct {
	Session string
	Err     error
}

// Error names the fix.
func (e *LoginError) Error() string {
	return fmt.Sprintf("the IAM Identity Center session %q has expired or was revoked (%v): sign in again with `aws sso login --sso-session %s`; the next call uses the new token, no restart needed",
		e.Session, e.Err, e.Session)
}

// Unwrap returns ErrSSOLogin and the cause.
func (e *LoginError) Unwrap() []error { return []error{ErrSSOLogin, e.Err} }

func (s *SSOStore) loginError(err error) error {
	var le *LoginError
	if errors.As(err, &le) {
		return err
	}
	return &LoginError{Session: s.session, Err: err}
}

// isTokenFailure reports the token provider's own failures (no cache file,
// a refresh the portal refused).
func isTokenFailure(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "UnauthorizedException", "InvalidGrantException", "ExpiredTokenException", "InvalidClientException":
			return true
		}
	}
	return false
}

// Explain turns a portal error that a new sign-in fixes (an expired or
// revoked bearer token) into a LoginError; others are returned as they are.
func (s *SSOStore) Explain(err error) error {
	if isTokenFailure(err) {
		return s.loginError(err)
	}
	return err
}

// countingPortal counts GetRoleCredentials calls.
type countingPortal struct {
	ssocreds.GetRoleCredentialsAPIClient
	calls *atomic.Int64
}

func (c countingPortal) GetRoleCredentials(ctx context.Context, in *sso.GetRoleCredentialsInput, opts ...func(*sso.Options)) (*sso.GetRoleCredentialsOutput, error) {
	c.calls.Add(1)
	return c.GetRoleCredentialsAPIClient.GetRoleCredentials(ctx, in, opts...)
}
