package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// BenchmarkSSODiscovery discovers 1,000 accounts of an IAM Identity Center
// portal (50 pages of ListAccounts, one ListAccountRoles per account) with
// the SDK's sso client against the fake portal, at a portal latency of 0
// and 50 ms per call: the wall time and the calls made.
func BenchmarkSSODiscovery(b *testing.B) {
	const n = 1000
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			stack := fakeaws.Start(fakeaws.Options{SSO: fakeaws.GenerateSSOAccounts(n)})
			defer stack.Close()
			stack.SSO.Latency = latency
			token := stack.SSO.IssueToken(time.Hour).AccessToken
			portal := sso.New(sso.Options{Region: "eu-west-1", BaseEndpoint: aws.String(stack.SSOURL), Credentials: aws.AnonymousCredentials{}})
			var ms float64
			for range b.N {
				before := stack.SSO.Calls("ListAccounts") + stack.SSO.Calls("ListAccountRoles")
				src := accounts.NewSSOSource(portal, accounts.SSOOptions{Session: "corp", Roles: []string{"*"},
					Token: func(context.Context) (string, error) { return token, nil }})
				start := time.Now()
				got, err := src.Accounts(context.Background())
				ms = float64(time.Since(start).Microseconds()) / 1000
				if err != nil || len(got) != n {
					b.Fatalf("%d accounts, %v", len(got), err)
				}
				b.ReportMetric(float64(stack.SSO.Calls("ListAccounts")+stack.SSO.Calls("ListAccountRoles")-before), "portal-calls")
			}
			b.ReportMetric(ms, "ms-to-list")
		})
	}
}
