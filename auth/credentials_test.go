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
