package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// orgClient is a real SDK Organizations client pointed at the fake through
// the SDK's endpoint option.
func orgClient(stack *fakeaws.Stack) *organizations.Client {
	return organizations.New(organizations.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(stack.OrgURL),
		Credentials:  stack.BaseCredentials(),
	})
}

func TestOrgDiscovery(t *testing.T) {
	t.Parallel()
	org := fakeaws.GenerateOrg(350)
	stack := fakeaws.Start(fakeaws.Options{Org: org})
	defer stack.Close()
	stack.Org.Throttle(1) // the very first call is throttled; the SDK retries it

	src := NewOrgSource(orgClient(stack), time.Hour, nil)
	got, err := src.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]fakeaws.OrgAccount{}
	for _, a := range org {
		if a.State == "ACTIVE" {
			want[a.ID] = a
		}
	}
	if len(got) != len(want) || len(want) < 300 {
		t.Fatalf("discovered %d accounts, want the %d ACTIVE ones (of %d)", len(got), len(want), len(org))
	}
	for _, a := range got {
		w, ok := want[a.ID]
		if !ok {
			t.Errorf("discovered %s (%s), which is not ACTIVE", a.ID, a.Name)
			continue
		}
		if a.Name != w.Name || a.OUPath != w.OUPath || a.OUID != stack.Org.OUID(w.OUPath) || a.Source != SourceOrganizations {
			t.Errorf("account %s = %+v, want name %s, ou_path %s, ou_id %s", a.ID, a, w.Name, w.OUPath, stack.Org.OUID(w.OUPath))
		}
		if len(a.Tags) != len(w.Tags) {
			t.Errorf("account %s tags %v, want %v", a.ID, a.Tags, w.Tags)
		}
		for k, v := range w.Tags {
			if a.Tags[k] != v {
				t.Errorf("account %s tag %s = %q, want %q", a.ID, k, a.Tags[k], v)
			}
		}
	}

	calls := stack.Org.Calls()
	ous := 9                   // the root and 8 OUs
	pages := len(org)/20 + ous // account pages beyond the first of each parent, roughly
	t.Logf("Organizations calls for %d accounts in %d OUs: %v (total %d; the SDK reported %d)", len(got), ous, calls, stack.Org.TotalCalls(), src.Calls())
	if calls["ListTagsForResource"] != len(want) {
		t.Errorf("ListTagsForResource called %d times, want once per ACTIVE account (%d)", calls["ListTagsForResource"], len(want))
	}
	if max := len(want) + ous*2 + pages + 2; stack.Org.TotalCalls() > max {
		t.Errorf("%d Organizations calls, want at most accounts + OUs + pages + retries = %d", stack.Org.TotalCalls(), max)
	}

	// Cached for the TTL: no further calls.
	before := stack.Org.TotalCalls()
	if again, err := src.Accounts(context.Background()); err != nil || len(again) != len(got) {
		t.Fatalf("second Accounts: %d, %v", len(again), err)
	}
	if stack.Org.TotalCalls() != before {
		t.Errorf("a cached discovery made %d calls", stack.Org.TotalCalls()-before)
	}
}

func TestOrgDiscoveryKeepsTheLastResultWhenRefreshFails(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Org: fakeaws.GenerateOrg(30)})
	defer stack.Close()
	src := NewOrgSource(orgClient(stack), time.Nanosecond, nil)
	first, err := src.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stack.Org.Load(nil) // the organization now answers ParentNotFound for the old root
	stack.Org.Throttle(1000)
	again, err := src.Accounts(context.Background())
	if err != nil || len(again) != len(first) {
		t.Errorf("refresh failure: got %d accounts, %v; want the previous %d", len(again), err, len(first))
	}

	empty := NewOrgSource(orgClient(stack), time.Hour, nil)
	if _, err := empty.Accounts(context.Background()); err == nil {
		t.Error("a first discovery that fails returned no error")
	}
}
