package accounts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
)

// DelegatedAdminAPI is the part of the AWS Organizations client that names
// the organization's delegated administrators
// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedAdministrators.html,
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedServicesForAccount.html).
// Only the management account and a delegated administrator of
// Organizations may call them.
type DelegatedAdminAPI interface {
	ListDelegatedAdministrators(context.Context, *organizations.ListDelegatedAdministratorsInput, ...func(*organizations.Options)) (*organizations.ListDelegatedAdministratorsOutput, error)
	ListDelegatedServicesForAccount(context.Context, *organizations.ListDelegatedServicesForAccountInput, ...func(*organizations.Options)) (*organizations.ListDelegatedServicesForAccountOutput, error)
}

// delegatedAdmins returns, for each delegated administrator account, the
// service principals it administers for the whole organization (sorted).
// Throttling is the SDK's to retry.
func (o *OrgSource) delegatedAdmins(ctx context.Context, api DelegatedAdminAPI) (map[string][]string, error) {
	var admins []string
	pages := organizations.NewListDelegatedAdministratorsPaginator(api, &organizations.ListDelegatedAdministratorsInput{})
	for pages.HasMorePages() {
		o.calls.Add(1)
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListDelegatedAdministrators: %w", err)
		}
		for _, a := range page.DelegatedAdministrators {
			if a.State == orgtypes.AccountStateSuspended || a.State == orgtypes.AccountStateClosed {
				continue
			}
			admins = append(admins, aws.ToString(a.Id))
		}
	}
	out := make(map[string][]string, len(admins))
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	sem := make(chan struct{}, orgParallelism)
	for _, id := range admins {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			services, err := o.servicesOf(ctx, api, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.As(err, new(*orgtypes.AccountNotRegisteredException)):
				// no longer an administrator since the list was read
			case err != nil:
				if first == nil {
					first = err
				}
			case len(services) > 0:
				out[id] = services
			}
		})
	}
	wg.Wait()
	return out, first
}

// servicesOf lists the service principals one account administers.
func (o *OrgSource) servicesOf(ctx context.Context, api DelegatedAdminAPI, id string) ([]string, error) {
	var services []string
	pages := organizations.NewListDelegatedServicesForAccountPaginator(api, &organizations.ListDelegatedServicesForAccountInput{AccountId: aws.String(id)})
	for pages.HasMorePages() {
		o.calls.Add(1)
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListDelegatedServicesForAccount %s: %w", id, err)
		}
		for _, s := range page.DelegatedServices {
			services = append(services, aws.ToString(s.ServicePrincipal))
		}
	}
	sort.Strings(services)
	return services, nil
}

// delegatedWarning says, once, why the delegated administrators are not
// known: the caller may not read them (AccessDenied: only the management
// account and Organizations' delegated administrator may), or the call
// failed.
func delegatedWarning(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied") {
		return "AWS Organizations: the delegated administrators are not known: this identity may not list them " +
			"(organizations:ListDelegatedAdministrators and organizations:ListDelegatedServicesForAccount, from the management account or Organizations' delegated administrator); every account is still listed"
	}
	return "AWS Organizations: the delegated administrators are not known (" + err.Error() + "); every account is still listed"
}
