package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// stsClient returns a real SDK STS client pointed at the fake through the
// SDK's endpoint option, with the fake's base credentials.
func stsClient(stack *fakeaws.Stack) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(stack.STSURL),
		Credentials:  stack.BaseCredentials(),
	})
}

func TestStoreAssumesOncePerAccountUnderConcurrency(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	acct := stack.Accounts[0].ID
	stack.STS.SetLatency(acct, 50*time.Millisecond)
	store := NewStore(stsClient(stack))

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			creds, err := store.ForRole(RoleTarget{AccountID: acct}).Retrieve(context.Background())
			if err != nil || creds.SessionToken == "" {
				t.Errorf("Retrieve: %v %+v", err, creds.AccessKeyID)
			}
		})
	}
	wg.Wait()
	calls := stack.STS.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	c := calls[0]
	if c.RoleARN != "arn:aws:iam::"+acct+":role/CentralOpsTargetRole" || c.RoleSessionName != "Bridge-"+acct || c.DurationSeconds != 3600 || c.ExternalID != "" {
		t.Errorf("AssumeRole call = %+v", c)
	}
}

func TestStoreOptionsReachSTS(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(1), RoleName: "Reader"})
	defer stack.Close()
	acct := stack.Accounts[0].ID
	stack.STS.RequireExternalID(acct, "ext-42")
	store := NewStore(stsClient(stack), func(o *Options) {
		o.RoleName = "Reader"
		o.ExternalID = "ext-42"
		o.SessionName = "ops-{account}-audit"
		o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	})
	if _, err := store.ForRole(RoleTarget{AccountID: acct, Duration: 2 * time.Hour}).Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := stack.STS.Calls()[0]
	if c.ExternalID != "ext-42" || c.RoleSessionName != "ops-"+acct+"-audit" || c.DurationSeconds != 7200 ||
		len(c.PolicyARNs) != 1 || c.PolicyARNs[0] != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("AssumeRole call = %+v", c)
	}
}

func TestAssumeRoleErrorsNameTheRoleAndCause(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	denied, extNeeded := stack.Accounts[0].ID, stack.Accounts[1].ID
	stack.STS.Deny(denied)
	stack.STS.RequireExternalID(extNeeded, "right")
	store := NewStore(stsClient(stack), func(o *Options) { o.ExternalID = "wrong" })

	for _, acct := range []string{denied, extNeeded} {
		_, err := store.ForRole(RoleTarget{AccountID: acct}).Retrieve(context.Background())
		var ae *AssumeRoleError
		if !errors.As(err, &ae) || ae.Code() != "AccessDenied" {
			t.Fatalf("err = %v, want an AssumeRoleError with AccessDenied", err)
		}
		msg := ae.Error()
		if !strings.Contains(msg, "arn:aws:iam::"+acct+":role/CentralOpsTargetRole") || !strings.Contains(msg, "not authorized") {
			t.Errorf("message %q does not name the role and cause", msg)
		}
		if strings.Contains(msg, "RequestID") || strings.Contains(msg, stack.Base.SecretAccessKey) {
			t.Errorf("message carries SDK noise or secrets: %q", msg)
		}
	}
}

func TestSessionName(t *testing.T) {
	t.Parallel()
	tests := []struct{ template, want string }{
		{"", "Bridge-222222222222"},
		{"Bridge-{account}", "Bridge-222222222222"},
		{"alice@corp.example", "alice@corp.example"},
		{"ops {account}/x", "ops-222222222222-x"},
		{"x", "x-"},
		{strings.Repeat("a", 70), strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		if got := SessionName(tt.template, "222222222222"); got != tt.want {
			t.Errorf("SessionName(%q) = %q, want %q", tt.template, got, tt.want)
		}
	}
}

// TestDeniedRolesAreRemembered: an AccessDenied is answered from memory
// for DeniedTTL, without an STS call (and a CloudTrail event in the member
// account), then asked again; a changed role or ExternalId, throttling and
// outages are never answered from it.
func TestDeniedRolesAreRemembered(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(2)})
	defer stack.Close()
	denied, throttled := stack.Accounts[0].ID, stack.Accounts[1].ID
	stack.STS.Deny(denied)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	store := NewStore(stsClient(stack), func(o *Options) { o.DeniedTTL = 5 * time.Minute; o.Now = clock })
	ctx := context.Background()

	retrieve := func(t RoleTarget) error { _, err := store.ForRole(t).Retrieve(ctx); return err }
	for i := range 3 {
		err := retrieve(RoleTarget{AccountID: denied})
		var aerr *AssumeRoleError
		if !errors.As(err, &aerr) || aerr.Code() != "AccessDenied" {
			t.Fatalf("try %d: %v, want AccessDenied", i, err)
		}
		if cached := strings.Contains(err.Error(), "(cached, retried after 10:05:00Z)"); cached != (i > 0) {
			t.Errorf("try %d: %q; want the cached note from the second try on", i, err)
		}
	}
	if n := stack.STS.AssumeRoleCount(denied); n != 1 {
		t.Errorf("%d AssumeRole calls for three tries, want 1", n)
	}
	advance(5 * time.Minute)
	_ = retrieve(RoleTarget{AccountID: denied})
	if n := stack.STS.AssumeRoleCount(denied); n != 2 {
		t.Errorf("after the TTL: %d AssumeRole calls, want 2", n)
	}
	// A changed ExternalId (or role name) is a new question for STS.
	_ = retrieve(RoleTarget{AccountID: denied, ExternalID: "new"})
	_ = retrieve(RoleTarget{AccountID: denied, RoleName: "OtherRole"})
	if n := stack.STS.AssumeRoleCount(denied); n != 4 {
		t.Errorf("after changing ExternalId and role: %d AssumeRole calls, want 4", n)
	}
	// Throttling is retried by the SDK and never remembered.
	stack.STS.Throttle(throttled, 100)
	for range 2 {
		if err := retrieve(RoleTarget{AccountID: throttled}); err == nil || strings.Contains(err.Error(), "(cached, retried") {
			t.Errorf("throttled account: %v", err)
		}
	}
	if n := stack.STS.AssumeRoleCount(throttled); n < 2 {
		t.Errorf("throttling was remembered: %d calls", n)
	}
}

func TestDeniedTTLZeroAlwaysAsks(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(1)})
	defer stack.Close()
	acct := stack.Accounts[0].ID
	stack.STS.Deny(acct)
	store := NewStore(stsClient(stack))
	for range 3 {
		_, _ = store.ForRole(RoleTarget{AccountID: acct}).Retrieve(context.Background())
	}
	if n := stack.STS.AssumeRoleCount(acct); n != 3 {
		t.Errorf("%d AssumeRole calls with DeniedTTL 0, want 3", n)
	}
}
