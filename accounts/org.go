package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// OrganizationsAPI is the part of the AWS Organizations client discovery uses.
type OrganizationsAPI interface {
	ListRoots(context.Context, *organizations.ListRootsInput, ...func(*organizations.Options)) (*organizations.ListRootsOutput, error)
	ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
	ListAccountsForParent(context.Context, *organizations.ListAccountsForParentInput, ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListTagsForResource(context.Context, *organizations.ListTagsForResourceInput, ...func(*organizations.Options)) (*organizations.ListTagsForResourceOutput, error)
}

// DefaultOrgTTL is how long discovered accounts are reused.
const DefaultOrgTTL = 15 * time.Minute

// orgParallelism bounds concurrent Organizations calls: the API throttles
// at a few calls per second, and the SDK's retryer absorbs the rest.
const orgParallelism = 4

// OrgSource discovers the ACTIVE accounts of an AWS organization by walking
// its tree (roots, OUs, accounts per parent) and reading each account's
// tags. Results are cached for a TTL; when a refresh fails, the previous
// result is kept and the refresh retried on the next call. It is safe for
// concurrent use.
type OrgSource struct {
	api   OrganizationsAPI
	log   *slog.Logger
	last  discovery
	calls atomic.Int64
}

// NewOrgSource returns a source over api; ttl 0 means DefaultOrgTTL.
func NewOrgSource(api OrganizationsAPI, ttl time.Duration, log *slog.Logger) *OrgSource {
	if ttl <= 0 {
		ttl = DefaultOrgTTL
	}
	if log == nil {
		log = slog.Default()
	}
	return &OrgSource{api: api, log: log, last: discovery{ttl: ttl, log: log, name: "organizations"}}
}

// Calls returns how many Organizations API calls discovery has made.
func (o *OrgSource) Calls() int64 { return o.calls.Load() }

// Accounts returns the organization's ACTIVE accounts, discovering them when
// the cache is empty or older than the TTL.
func (o *OrgSource) Accounts(ctx context.Context) ([]Account, error) {
	return o.last.get(ctx, func(ctx context.Context) ([]Account, []string, error) {
		start := time.Now()
		before := o.calls.Load()
		accts, err := o.discover(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("discover accounts from AWS Organizations: %w", err)
		}
		var warnings []string
		if api, ok := o.api.(DelegatedAdminAPI); ok {
			admins, err := o.delegatedAdmins(ctx, api)
			if err != nil {
				warnings = append(warnings, delegatedWarning(err))
				o.log.Warn("cannot list the delegated administrators", "error", err)
			}
			for i := range accts {
				accts[i].DelegatedAdminFor = admins[accts[i].ID]
			}
		}
		o.log.Info("discovered accounts from AWS Organizations", "accounts", len(accts),
			"api_calls", o.calls.Load()-before, "duration", time.Since(start).Round(time.Millisecond))
		return accts, warnings, nil
	})
}

// Warnings says what the last discovery could not learn (the delegated
// administrators, when this identity may not list them).
func (o *OrgSource) Warnings() []string { return o.last.lastWarnings() }

// parent is an OU (or root) to list, with its path of names.
type parent struct {
	id, path string
}

// walker holds one discovery's shared state.
type walker struct {
	o      *OrgSource
	ctx    context.Context
	cancel context.CancelCauseFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	found []Account
}

func (o *OrgSource) discover(ctx context.Context) ([]Account, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &walker{o: o, ctx: ctx, cancel: cancel, sem: make(chan struct{}, orgParallelism)}

	var roots []orgtypes.Root
	err := w.call(func() error {
		p := organizations.NewListRootsPaginator(o.api, &organizations.ListRootsInput{})
		for p.HasMorePages() {
			o.calls.Add(1)
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("ListRoots: %w", err)
			}
			roots = append(roots, page.Roots...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range roots {
		w.visit(parent{id: aws.ToString(r.Id), path: "Root"})
	}
	w.wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return nil, err
	}
	sortAccounts(w.found)
	return w.found, nil
}

// call runs fn holding one of the parallelism slots.
func (w *walker) call(fn func() error) error {
	select {
	case w.sem <- struct{}{}:
	case <-w.ctx.Done():
		return context.Cause(w.ctx)
	}
	defer func() { <-w.sem }()
	return fn()
}

// visit lists a parent's child OUs (visiting each) and its accounts.
func (w *walker) visit(p parent) {
	w.wg.Go(func() {
		if err := w.call(func() error { return w.childOUs(p) }); err != nil {
			w.cancel(err)
		}
	})
	w.wg.Go(func() {
		if err := w.call(func() error { return w.accountsOf(p) }); err != nil {
			w.cancel(err)
		}
	})
}

func (w *walker) childOUs(p parent) error {
	pages := organizations.NewListOrganizationalUnitsForParentPaginator(w.o.api,
		&organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(p.id)})
	for pages.HasMorePages() {
		w.o.calls.Add(1)
		page, err := pages.NextPage(w.ctx)
		if err != nil {
			return fmt.Errorf("ListOrganizationalUnitsForParent %s: %w", p.id, err)
		}
		for _, ou := range page.OrganizationalUnits {
			w.visit(parent{id: aws.ToString(ou.Id), path: p.path + "/" + aws.ToString(ou.Name)})
		}
	}
	return nil
}

func (w *walker) accountsOf(p parent) error {
	pages := organizations.NewListAccountsForParentPaginator(w.o.api,
		&organizations.ListAccountsForParentInput{ParentId: aws.String(p.id)})
	for pages.HasMorePages() {
		w.o.calls.Add(1)
		page, err := pages.NextPage(w.ctx)
		if err != nil {
			return fmt.Errorf("ListAccountsForParent %s: %w", p.id, err)
		}
		for _, a := range page.Accounts {
			if !active(a) {
				continue
			}
			acct := Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Source: SourceOrganizations, OUPath: p.path, OUID: p.id}
			if acct.Name == "" {
				acct.Name = acct.ID
			}
			w.wg.Go(func() {
				if err := w.call(func() error { return w.tags(acct) }); err != nil {
					w.cancel(err)
				}
			})
		}
	}
	return nil
}

// tags reads an account's tags and records the account.
func (w *walker) tags(acct Account) error {
	pages := organizations.NewListTagsForResourcePaginator(w.o.api,
		&organizations.ListTagsForResourceInput{ResourceId: aws.String(acct.ID)})
	for pages.HasMorePages() {
		w.o.calls.Add(1)
		page, err := pages.NextPage(w.ctx)
		if err != nil {
			return fmt.Errorf("ListTagsForResource %s: %w", acct.ID, err)
		}
		for _, t := range page.Tags {
			if acct.Tags == nil {
				acct.Tags = map[string]string{}
			}
			acct.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.found = append(w.found, acct)
	return nil
}

// active reads State, falling back to the older Status field.
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// sortAccounts orders accounts by OU path, then name, then id.
func sortAccounts(accts []Account) {
	sort.Slice(accts, func(i, j int) bool {
		a, b := accts[i], accts[j]
		if a.OUPath != b.OUPath {
			return a.OUPath < b.OUPath
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
}
