package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
)

// SourceSSO marks accounts from an IAM Identity Center portal.
const SourceSSO = "sso"

// Defaults of the IAM Identity Center source: a person's read-only
// permission sets only, so that a local agent reaches every account it can
// read and changes none by default. An account with none of them is left
// out and named, with the roles it has; --sso-role adds others (in order
// of preference: the first that an account has is the one it uses).
var (
	DefaultSSORoles         = []string{"ReadOnlyAccess", "ViewOnlyAccess", "SecurityAudit", "ReadOnly*", "ViewOnly*", "*ReadOnly*"}
	DefaultSSOReadOnlyRoles = []string{"ReadOnly*", "ViewOnly*", "SecurityAudit", "*ReadOnly*"}
)

// ssoParallel bounds the ListAccountRoles calls in flight: 1,000 accounts
// take about 1000/16 portal round trips (BenchmarkSSODiscovery); the SDK
// retries what the portal throttles.
const ssoParallel = 16

// SSOPortal is what the source asks of the AWS access portal (the SDK's
// sso client): the accounts assigned to the person and their roles.
type SSOPortal interface {
	ListAccounts(context.Context, *sso.ListAccountsInput, ...func(*sso.Options)) (*sso.ListAccountsOutput, error)
	ListAccountRoles(context.Context, *sso.ListAccountRolesInput, ...func(*sso.Options)) (*sso.ListAccountRolesOutput, error)
}

// SSOOptions configure an SSOSource.
type SSOOptions struct {
	// Session names the sso-session of the AWS config file (for messages).
	Session string
	// Token returns the portal's bearer token (aws sso login's, refreshed
	// when it can be).
	Token func(ctx context.Context) (string, error)
	// Roles are globs of role (permission set) names in order of
	// preference; ReadOnlyRoles are the globs declared read-only.
	Roles, ReadOnlyRoles []string
	// TTL is how long a discovery is reused.
	TTL time.Duration
	// Explain turns a portal error into the person's fix (an expired
	// session: sign in again), or returns it as it is.
	Explain func(error) error
	Log     *slog.Logger
}

// SSOSource lists every account of an IAM Identity Center portal that has
// one of the preferred roles, with the role each uses. Accounts with none
// are left out and named by Warnings. Discovery is kept as discovery
// keeps it (for TTL; a failure is never kept, the previous result is used
// when there is one), so a fresh aws sso login takes effect at the next
// call.
type SSOSource struct {
	portal SSOPortal
	opts   SSOOptions
	calls  atomic.Int64
	last   discovery
}

// NewSSOSource returns the source of a portal.
func NewSSOSource(portal SSOPortal, opts SSOOptions) *SSOSource {
	if len(opts.Roles) == 0 {
		opts.Roles = DefaultSSORoles
	}
	if len(opts.ReadOnlyRoles) == 0 {
		opts.ReadOnlyRoles = DefaultSSOReadOnlyRoles
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultOrgTTL
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Explain == nil {
		opts.Explain = func(err error) error { return err }
	}
	return &SSOSource{portal: portal, opts: opts, last: discovery{ttl: opts.TTL, log: opts.Log, name: "IAM Identity Center"}}
}

// RoleCalls counts the ListAccountRoles calls made.
func (s *SSOSource) RoleCalls() int64 { return s.calls.Load() }

// Warnings names the accounts the last discovery left out, and why.
func (s *SSOSource) Warnings() []string { return s.last.lastWarnings() }

// Accounts returns the portal's accounts that have a preferred role.
func (s *SSOSource) Accounts(ctx context.Context) ([]Account, error) {
	return s.last.get(ctx, s.discover)
}

// discover lists the accounts (every page) and each account's roles,
// bounded in parallel; throttling is the SDK's to retry.
func (s *SSOSource) discover(ctx context.Context) ([]Account, []string, error) {
	token, err := s.opts.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Each account's roles are asked for as soon as its page arrives, so
	// the pages and the roles overlap.
	type portalAccount struct {
		id, name, email string
		roles           []string
		err             error
	}
	var listed []*portalAccount
	sem := make(chan struct{}, ssoParallel)
	var wg sync.WaitGroup
	pages := sso.NewListAccountsPaginator(s.portal, &sso.ListAccountsInput{AccessToken: aws.String(token)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			wg.Wait()
			return nil, nil, s.explain("list accounts", err)
		}
		for _, info := range page.AccountList {
			a := &portalAccount{id: aws.ToString(info.AccountId), name: aws.ToString(info.AccountName), email: aws.ToString(info.EmailAddress)}
			listed = append(listed, a)
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				a.roles, a.err = s.rolesOf(ctx, token, a.id)
			})
		}
	}
	wg.Wait()
	var out []Account
	var leftOut []string
	for _, a := range listed {
		if a.err != nil {
			return nil, nil, s.explain("roles of account "+a.id, a.err)
		}
		role := s.choose(a.roles)
		if role == "" {
			leftOut = append(leftOut, fmt.Sprintf("%s %s (roles: %s)", a.id, a.name, strings.Join(a.roles, ", ")))
			continue
		}
		acct := Account{ID: a.id, Name: a.name, Source: SourceSSO, SSORole: role, SSOReadOnly: matchAny(s.opts.ReadOnlyRoles, role)}
		if acct.Name == "" {
			acct.Name = a.id
		}
		if a.email != "" {
			acct.Tags = map[string]string{"email": a.email}
		}
		out = append(out, acct)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	var warnings []string
	if len(leftOut) > 0 {
		warnings = append(warnings, fmt.Sprintf("IAM Identity Center: %d of %d accounts have none of the roles --sso-role names (%s) and are left out (add a role of theirs to --sso-role to include them): %s",
			len(leftOut), len(listed), strings.Join(s.opts.Roles, ", "), strings.Join(leftOut, "; ")))
	}
	return out, warnings, nil
}

// explain names a failed portal call, or returns the person's fix alone.
func (s *SSOSource) explain(what string, err error) error {
	if fix := s.opts.Explain(err); fix != err {
		return fix
	}
	return fmt.Errorf("IAM Identity Center session %q: %s: %w", s.opts.Session, what, err)
}

// rolesOf lists the roles assigned to the person in one account.
func (s *SSOSource) rolesOf(ctx context.Context, token, account string) ([]string, error) {
	var out []string
	pages := sso.NewListAccountRolesPaginator(s.portal, &sso.ListAccountRolesInput{AccessToken: aws.String(token), AccountId: aws.String(account)})
	for pages.HasMorePages() {
		s.calls.Add(1)
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.RoleList {
			out = append(out, aws.ToString(r.RoleName))
		}
	}
	sort.Strings(out)
	return out, nil
}

// choose returns the first role, in order of preference, that the account
// has ("" for none).
func (s *SSOSource) choose(roles []string) string {
	for _, glob := range s.opts.Roles {
		for _, r := range roles {
			if ok, _ := path.Match(glob, r); ok {
				return r
			}
		}
	}
	return ""
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}
