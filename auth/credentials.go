// Package auth provides per-account AWS credentials (an assumed role in each
// member account, cached and refreshed before expiry) and an http.RoundTripper
// that signs requests with them (SigV4).
//
// It knows nothing of MCP or of where accounts come from.
package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// Defaults for assumed-role sessions.
const (
	DefaultRoleName        = "CentralOpsTargetRole"
	DefaultSessionName     = "Bridge-{account}"
	DefaultSessionDuration = time.Hour
	DefaultExpiryWindow    = 5 * time.Minute
	// DefaultDeniedTTL is how long an AccessDenied on AssumeRole is
	// remembered before the role is tried again.
	DefaultDeniedTTL = 5 * time.Minute
	// DefaultMaxAssumeRoles bounds the AssumeRole calls in flight: a fan-out
	// starts every account at once, and STS, not the upstream, sets the pace
	// of a cold one (the SDK retries its throttling with backoff).
	DefaultMaxAssumeRoles = 64
)

// RoleTarget names the role to assume in one account, and how. Empty fields
// fall back to the Store's options. Targets that differ get their own
// cached credentials: a caller named in SessionName or SourceIdentity never
// shares credentials with another.
type RoleTarget struct {
	AccountID  string
	RoleName   string
	ExternalID string
	Duration   time.Duration
	// SessionName is the RoleSessionName template of this target ("{account}"
	// is replaced), instead of the Store's.
	SessionName string
	// SourceIdentity is passed as sts:SourceIdentity, so CloudTrail in the
	// member account names the person even through role chaining.
	SourceIdentity string
	// ReadOnly adds the Store's ReadOnlyPolicyARNs as session policies.
	ReadOnly bool
	// Policy is an inline session policy (JSON) passed as AssumeRole's
	// Policy: the session may do only what the role's policies and every
	// session policy together allow, and nothing a session policy denies.
	Policy string
	// Owner names who the credentials are for (a caller of a shared
	// server): targets of different owners never share credentials.
	Owner string
}

// Options configures a Store.
type Options struct {
	// Partition of the role ARNs: "aws", "aws-cn" or "aws-us-gov".
	Partition string
	// RoleName is the role assumed in every account unless a target overrides it.
	RoleName string
	// ExternalID is passed to AssumeRole when set.
	ExternalID string
	// SessionName is the RoleSessionName; "{account}" is replaced by the
	// account id. It defaults to "Bridge-{account}".
	SessionName string
	// Duration is the session length asked for (DurationSeconds).
	Duration time.Duration
	// ExpiryWindow is how long before expiry cached credentials are refreshed.
	ExpiryWindow time.Duration
	// PolicyARNs are managed session policies passed on every AssumeRole
	// (read-only mode passes ReadOnlyAccess).
	PolicyARNs []string
	// ReadOnlyPolicyARNs are the session policies of a ReadOnly target (a
	// caller the access policy gives read-only access).
	ReadOnlyPolicyARNs []string
	// DeniedTTL is how long an AccessDenied answer is remembered: meanwhile
	// the role is not asked again (each try is one STS call and one
	// AccessDenied event in the member account's CloudTrail). 0 disables.
	// Throttling and network errors are never remembered.
	DeniedTTL time.Duration
	// Now is the clock of the denial cache; time.Now when nil.
	Now func() time.Time
	// MaxAssumeRoles bounds the AssumeRole calls in flight
	// (DefaultMaxAssumeRoles when 0).
	MaxAssumeRoles int
}

// Store hands out one cached credentials provider per role target. Concurrent
// callers for the same account share one in-flight AssumeRole, and an account
// costs one STS call per credential lifetime. It is safe for concurrent use.
type Store struct {
	client stscreds.AssumeRoleAPIClient
	opts   Options

	mu        sync.Mutex
	providers map[RoleTarget]*aws.CredentialsCache
	// current is each account's role and ExternalId last asked for: a
	// change drops the providers (and remembered denials) of the old ones.
	current map[string]roleRef
}

type roleRef struct{ role, externalID string }

// NewStore returns a Store that assumes roles with client.
func NewStore(client stscreds.AssumeRoleAPIClient, optFns ...func(*Options)) *Store {
	opts := Options{
		Partition:    "aws",
		RoleName:     DefaultRoleName,
		SessionName:  DefaultSessionName,
		Duration:     DefaultSessionDuration,
		ExpiryWindow: DefaultExpiryWindow,
	}
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAssumeRoles <= 0 {
		opts.MaxAssumeRoles = DefaultMaxAssumeRoles
	}
	client = boundedAssumeRole{client, make(chan struct{}, opts.MaxAssumeRoles)}
	return &Store{client: client, opts: opts, providers: make(map[RoleTarget]*aws.CredentialsCache), current: map[string]roleRef{}}
}

// boundedAssumeRole keeps at most cap(slots) AssumeRole calls in flight.
type boundedAssumeRole struct {
	stscreds.AssumeRoleAPIClient
	slots chan struct{}
}

func (b boundedAssumeRole) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opts ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.slots }()
	return b.AssumeRoleAPIClient.AssumeRole(ctx, in, opts...)
}

// resolve fills a target's empty fields from the store's options.
func (s *Store) resolve(t RoleTarget) RoleTarget {
	if t.RoleName == "" {
		t.RoleName = s.opts.RoleName
	}
	if t.ExternalID == "" {
		t.ExternalID = s.opts.ExternalID
	}
	if t.Duration == 0 {
		t.Duration = s.opts.Duration
	}
	if t.SessionName == "" {
		t.SessionName = s.opts.SessionName
	}
	return t
}

// RoleARN returns the ARN of the role assumed for t.
func (s *Store) RoleARN(t RoleTarget) string {
	t = s.resolve(t)
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", s.opts.Partition, t.AccountID, t.RoleName)
}

// SessionName returns the RoleSessionName used for a target.
func (s *Store) SessionName(t RoleTarget) string {
	t = s.resolve(t)
	return SessionName(t.SessionName, t.AccountID)
}

// ForRole returns the cached credentials provider of the role target. The
// first Retrieve calls AssumeRole; later ones reuse the credentials until
// ExpiryWindow before they expire.
func (s *Store) ForRole(t RoleTarget) aws.CredentialsProvider {
	t = s.resolve(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.providers[t]; ok {
		return p
	}
	ref := roleRef{role: t.RoleName, externalID: t.ExternalID}
	if old, ok := s.current[t.AccountID]; ok && old != ref {
		for k := range s.providers {
			if k.AccountID == t.AccountID && (roleRef{k.RoleName, k.ExternalID}) != ref {
				delete(s.providers, k)
			}
		}
	}
	s.current[t.AccountID] = ref
	roleARN := s.RoleARN(t)
	policies := s.opts.PolicyARNs
	if t.ReadOnly {
		policies = append(append([]string(nil), policies...), s.opts.ReadOnlyPolicyARNs...)
	}
	assume := stscreds.NewAssumeRoleProvider(s.client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName(t.SessionName, t.AccountID)
		o.Duration = t.Duration
		if t.ExternalID != "" {
			o.ExternalID = aws.String(t.ExternalID)
		}
		if t.SourceIdentity != "" {
			o.SourceIdentity = aws.String(t.SourceIdentity)
		}
		if t.Policy != "" {
			o.Policy = aws.String(t.Policy)
		}
		seen := map[string]bool{}
		for _, arn := range policies {
			if !seen[arn] {
				seen[arn] = true
				o.PolicyARNs = append(o.PolicyARNs, ststypes.PolicyDescriptorType{Arn: aws.String(arn)})
			}
		}
	})
	described := &describedProvider{inner: assume, roleARN: roleARN, deniedTTL: s.opts.DeniedTTL, now: s.opts.Now}
	p := aws.NewCredentialsCache(described, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = s.opts.ExpiryWindow
	})
	s.providers[t] = p
	return p
}

// describedProvider names the role in AssumeRole errors and keeps the SDK's
// request plumbing out of them. It remembers an AccessDenied answer for
// deniedTTL and answers with it meanwhile, without calling STS.
type describedProvider struct {
	inner     aws.CredentialsProvider
	roleARN   string
	deniedTTL time.Duration
	now       func() time.Time

	mu          sync.Mutex
	denied      error
	deniedUntil time.Time
}

func (p *describedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if err := p.cachedDenial(); err != nil {
		return aws.Credentials{}, err
	}
	creds, err := p.inner.Retrieve(ctx)
	if err != nil {
		aerr := &AssumeRoleError{RoleARN: p.roleARN, Err: err}
		if p.deniedTTL > 0 && aerr.Code() == "AccessDenied" {
			p.mu.Lock()
			p.denied, p.deniedUntil = err, p.now().Add(p.deniedTTL)
			p.mu.Unlock()
		}
		return aws.Credentials{}, aerr
	}
	return creds, nil
}

// cachedDenial returns the remembered AccessDenied while it is fresh.
func (p *describedProvider) cachedDenial() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.denied == nil {
		return nil
	}
	if !p.now().Before(p.deniedUntil) {
		p.denied = nil
		return nil
	}
	return &AssumeRoleError{RoleARN: p.roleARN, Err: p.denied, RetryAfter: p.deniedUntil}
}

// AssumeRoleError is an AssumeRole failure for one role.
type AssumeRoleError struct {
	RoleARN string
	Err     error
	// RetryAfter is set when the error is a remembered AccessDenied: STS
	// was not asked, and will be again after this time.
	RetryAfter time.Time
}

// Error names the role and the AWS error.
func (e *AssumeRoleError) Error() string {
	msg := fmt.Sprintf("assume role %s: %s", e.RoleARN, Describe(e.Err))
	if !e.RetryAfter.IsZero() {
		msg += fmt.Sprintf(" (cached, retried after %s)", e.RetryAfter.UTC().Format("15:04:05Z"))
	}
	return msg
}

// Unwrap returns the SDK error.
func (e *AssumeRoleError) Unwrap() error { return e.Err }

// Code returns the AWS error code ("AccessDenied") or "".
func (e *AssumeRoleError) Code() string {
	var api smithy.APIError
	if errors.As(e.Err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// Describe renders an AWS SDK error as "Code: message" when the service
// answered, and as the plain error otherwise. The SDK's errors carry no
// credential material; this only makes them shorter.
func Describe(err error) string {
	var login *LoginError
	if errors.As(err, &login) {
		return login.Error() // the fix, not only the portal's error code
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		msg := api.ErrorMessage()
		if msg == "" {
			return api.ErrorCode()
		}
		return api.ErrorCode() + ": " + msg
	}
	var canceled *aws.RequestCanceledError
	if errors.As(err, &canceled) {
		return "cancelled: " + canceled.Err.Error()
	}
	return err.Error()
}

var sessionNameInvalid = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName expands a RoleSessionName template for an account: "{account}"
// becomes the id, characters STS rejects become "-", and the result is cut to
// STS's 64-character limit.
func SessionName(template, accountID string) string {
	if template == "" {
		template = DefaultSessionName
	}
	name := strings.ReplaceAll(template, "{account}", accountID)
	name = sessionNameInvalid.ReplaceAllString(name, "-")
	if len(name) > 64 {
		name = name[:64]
	}
	for len(name) < 2 {
		name += "-"
	}
	return name
}
