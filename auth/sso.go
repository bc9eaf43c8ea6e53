package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
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

	// reading is the token read in flight: concurrent callers share it, so
	// a fan-out over many accounts refreshes an expired token once (the
	// SDK's provider is not safe for concurrent use, and every refresh
	// rewrites the cache file). Nothing is kept once it ends: the next
	// read sees a new aws sso login.
	readMu  sync.Mutex
	reading *tokenRead
}

// tokenRead is one read of the bearer token, shared by its callers.
type tokenRead struct {
	done  chan struct{}
	token bearer.Token
	err   error
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

// bearerToken reads the token (refreshing it if need be). A failure a new
// sign-in fixes (no cached token, a refresh SSO OIDC refused) is a
// LoginError; one it does not fix (the network, SSO OIDC's own trouble,
// the caller's deadline) is returned as what it is.
func (s *SSOStore) bearerToken(ctx context.Context) (bearer.Token, error) {
	t, err := s.sharedRead(ctx)
	switch {
	case err == nil:
		return t, nil
	case ctx.Err() != nil, isTransient(err):
		return bearer.Token{}, fmt.Errorf("IAM Identity Center session %q: reading its token: %w", s.session, err)
	}
	return bearer.Token{}, s.loginError(err)
}

// sharedRead joins the token read in flight, or starts one. The read runs
// detached from any one caller's cancellation (bounded by tokenReadTimeout),
// so a caller that gives up does not fail the others.
func (s *SSOStore) sharedRead(ctx context.Context) (bearer.Token, error) {
	s.readMu.Lock()
	r := s.reading
	if r == nil {
		r = &tokenRead{done: make(chan struct{})}
		s.reading = r
		go func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenReadTimeout)
			defer cancel()
			r.token, r.err = s.tokens.RetrieveBearerToken(rctx)
			s.readMu.Lock()
			s.reading = nil
			s.readMu.Unlock()
			close(r.done)
		}()
	}
	s.readMu.Unlock()
	select {
	case <-r.done:
		return r.token, r.err
	case <-ctx.Done():
		return bearer.Token{}, ctx.Err()
	}
}

// tokenReadTimeout bounds one read of the token, a refresh through SSO
// OIDC included.
const tokenReadTimeout = 30 * time.Second

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

// LoginError is an IAM Identity Center session that has ended, whichever
// way it ended: no cached token, an access token past its expiry whose
// refresh SSO OIDC refused, or a token the portal rejects.
type LoginError struct {
	Session string
	Err     error
}

// Error names the session, how it ended (briefly: no request ids, so that
// one fan-out's accounts share one message) and the fix.
func (e *LoginError) Error() string {
	return fmt.Sprintf("the IAM Identity Center session %q has ended (%s): sign in again with `aws sso login --sso-session %s`; the next call uses the new token, no restart needed",
		e.Session, endedBy(e.Err), e.Session)
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

// isTokenFailure reports the failures a new sign-in fixes, by the SDK's
// error types (https://docs.aws.amazon.com/singlesignon/latest/OIDCAPIReference/API_CreateToken.html,
// https://docs.aws.amazon.com/singlesignon/latest/PortalAPIReference/API_GetRoleCredentials.html):
// SSO OIDC refusing to refresh the token (the refresh token revoked or
// past the session's duration, an expired client registration, a client
// no longer allowed to refresh), and the portal rejecting the token.
func isTokenFailure(err error) bool {
	var (
		grant        *oidctypes.InvalidGrantException
		expired      *oidctypes.ExpiredTokenException
		client       *oidctypes.InvalidClientException
		unauthClient *oidctypes.UnauthorizedClientException
		portal       *ssotypes.UnauthorizedException
	)
	return errors.As(err, &grant) || errors.As(err, &expired) || errors.As(err, &client) ||
		errors.As(err, &unauthClient) || errors.As(err, &portal)
}

// isTransient reports a token failure that is not the session's end: the
// network, or SSO OIDC answering with an error a new sign-in does not fix
// (its own fault, throttling). A refusal (isTokenFailure) and a token
// that cannot be read or refreshed at all are the session's end.
func isTransient(err error) bool {
	if isTokenFailure(err) {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return true
	}
	var op *smithy.OperationError
	return errors.As(err, &op) // no API error: the call did not get an answer
}

// endedBy says in a few words how a session ended.
func endedBy(err error) string {
	var (
		portal *ssotypes.UnauthorizedException
		api    smithy.APIError
	)
	switch {
	case errors.As(err, &portal):
		return "the access portal rejected its token: " + portal.ErrorCode()
	case errors.As(err, &api):
		return "its token expired and SSO OIDC refused the refresh: " + api.ErrorCode()
	case errors.Is(err, os.ErrNotExist):
		return "no token cached: not signed in on this machine"
	}
	return "its token could not be read or refreshed: " + err.Error()
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
