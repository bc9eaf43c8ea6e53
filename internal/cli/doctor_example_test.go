package cli

import (
	"os"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// Example_printDoctorSummary pins what a person reads from doctor: the
// shared checks, a line per account, then the failures, causes first
// (the base credentials before the caller identity check they stopped),
// each with its fix.
func Example_printDoctorSummary() {
	r := doctorReport{
		Checks: []check{
			{Name: checkBaseName, Detail: "no credentials: the default chain found none", Fix: "set AWS_PROFILE, or run aws sso login"},
			{Name: checkCallerName, Detail: "skipped: no base credentials"},
			{Name: checkEndpointName, OK: true, Detail: "https://aws-mcp.us-east-1.api.aws/mcp answers"},
			{Name: checkAssumeRoleName, Account: "222222222222", Detail: "skipped: no base credentials"},
			{Name: checkAssumeRoleName, Account: "333333333333", Detail: "skipped: no base credentials"},
		},
		accounts: []accounts.Account{{ID: "222222222222", Name: "prod"}, {ID: "333333333333", Name: "staging"}},
	}
	printDoctorSummary(os.Stdout, painter{}, r)
	// Output:
	// ✗  base credentials  no credentials: the default chain found none
	// ✗  caller identity   skipped: no base credentials
	// ✓  endpoint          https://aws-mcp.us-east-1.api.aws/mcp answers
	//
	//    ACCOUNT       NAME     ROLE  UPSTREAM  TIME
	// ✗  222222222222  prod     ✗     -         0s
	// ✗  333333333333  staging  ✗     -         0s
	//
	// Failures:
	// ✗ base credentials: no credentials: the default chain found none
	//   fix: set AWS_PROFILE, or run aws sso login
	// ✗ caller identity: skipped: no base credentials
	// ✗ 222222222222 assume role: skipped: no base credentials
	// ✗ 333333333333 assume role: skipped: no base credentials
	//
	// 0 of 2 accounts ready; 4 checks failed (doctor --verbose shows every check)
}
