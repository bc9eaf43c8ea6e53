package proxy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
)

// delegatedNote tells the model where an organization-wide question is
// asked once (the tools' descriptions and the instructions say it).
const delegatedNote = "An organization-wide question about findings, configuration or inventory (Security Hub, GuardDuty, " +
	"AWS Config aggregators, IAM Access Analyzer, Inspector, Resource Explorer, Macie, Detective, Health) is best asked once, " +
	"with query, in that service's delegated administrator account, which sees every member: list_accounts names them."

// organizationWide are the services whose delegated administrator answers
// for every member account, by the names a script (boto3) or an AWS CLI
// command gives them: their service principal, and the call that asks the
// whole organization.
var organizationWide = map[string]struct{ principal, call string }{
	"securityhub":         {"securityhub.amazonaws.com", "Security Hub GetFindings"},
	"guardduty":           {"guardduty.amazonaws.com", "GuardDuty ListFindings"},
	"config":              {"config.amazonaws.com", "Config SelectAggregateResourceConfig on an organization aggregator"},
	"configservice":       {"config.amazonaws.com", "Config SelectAggregateResourceConfig on an organization aggregator"},
	"accessanalyzer":      {"access-analyzer.amazonaws.com", "Access Analyzer ListFindingsV2 on an organization analyzer"},
	"inspector2":          {"inspector2.amazonaws.com", "Inspector ListFindings"},
	"resource-explorer-2": {"resource-explorer-2.amazonaws.com", "Resource Explorer Search on the aggregator index"},
	"macie2":              {"macie.amazonaws.com", "Macie ListFindings"},
	"detective":           {"detective.amazonaws.com", "Detective's behavior graph"},
	"health":              {"health.amazonaws.com", "Health DescribeEventsForOrganization"},
	"securitylake":        {"securitylake.amazonaws.com", "Security Lake's organization data lake"},
}

// boto3Service finds the service names a script calls through call_boto3.
var boto3Service = regexp.MustCompile(`service_name\s*=\s*['"]([A-Za-z0-9-]+)['"]`)

// servicesCalled names the AWS services a fan-out's arguments call: a
// script's call_boto3 service names, or an AWS CLI command's service.
func servicesCalled(tool string, args json.RawMessage) []string {
	switch tool {
	case RunScriptTool:
		var in struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(args, &in) != nil {
			return nil
		}
		var out []string
		for _, m := range boto3Service.FindAllStringSubmatch(in.Code, -1) {
			out = append(out, strings.ToLower(m[1]))
		}
		return out
	case CallAWSTool:
		cmd, _ := guard.CLICommand(args)
		if f := strings.Fields(cmd); len(f) > 1 && f[0] == "aws" {
			return []string{f[1]}
		}
	}
	return nil
}

// delegatedAdvice says, for each organization-wide service a fan-out over
// several accounts calls, which reachable account is its delegated
// administrator: one query there would answer for the organization.
func delegatedAdvice(tool string, args json.RawMessage, reachable []accounts.Account, selected int) []string {
	if selected < 2 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, svc := range servicesCalled(tool, args) {
		wide, ok := organizationWide[svc]
		if !ok || seen[wide.principal] {
			continue
		}
		seen[wide.principal] = true
		var admins []string
		for _, a := range reachable {
			for _, p := range a.DelegatedAdminFor {
				if p == wide.principal {
					admins = append(admins, fmt.Sprintf("%s (%s)", a.ID, a.Name))
				}
			}
		}
		if len(admins) == 0 {
			continue
		}
		sort.Strings(admins)
		out = append(out, fmt.Sprintf("Account %s is the organization's delegated administrator for %s: one query there (%s) answers for every member account, instead of this fan-out over %d accounts.",
			strings.Join(admins, " and "), wide.principal, wide.call, selected))
	}
	return out
}
