// Package accounts knows which AWS member accounts the proxy may query: it
// reads them from files, the environment, AWS Organizations and local AWS
// config profiles, and selects subsets of them by id, name, tag or OU.
//
// It knows nothing of MCP or credentials.
package accounts

import (
	"errors"
	"regexp"
	"time"
)

// Where an account came from, reported as Account.Source.
const (
	SourceFile          = "file"
	SourceEnv           = "env"
	SourceOrganizations = "organizations"
	SourceProfile       = "profile"
)

// ErrUnknownAccount is returned when an account id is not one of the
// configured accounts.
var ErrUnknownAccount = errors.New("unknown account")

// ErrEmptySelection is returned when selectors match no account.
var ErrEmptySelection = errors.New("selection matched no account")

// Account is one AWS member account the proxy can query.
type Account struct {
	// ID is the 12-digit account id.
	ID string `json:"id"`
	// Name is a human name; it defaults to the id.
	Name string `json:"name"`
	// Source says where the account came from (SourceFile, SourceEnv, ...).
	Source string `json:"source"`
	// OUPath is the path of OU names from the organization root, "Root/Workloads/Prod".
	OUPath string `json:"ou_path,omitempty"`
	// OUID is the id of the account's parent OU (or root).
	OUID string `json:"ou_id,omitempty"`
	// Tags are the account's tags (from the file or Organizations).
	Tags map[string]string `json:"tags,omitempty"`

	// RoleName overrides the role assumed in this account.
	RoleName string `json:"role_name,omitempty"`
	// ExternalID overrides the ExternalId passed to AssumeRole.
	ExternalID string `json:"-"`
	// Regions are this account's default regions for queries that name none.
	Regions []string `json:"regions,omitempty"`
	// SessionDuration overrides the assumed-role session length.
	SessionDuration time.Duration `json:"-"`
	// Profile names the AWS config profile whose credentials this account
	// uses instead of AssumeRole (SourceProfile accounts).
	Profile string `json:"profile,omitempty"`
	// SSORole is the IAM Identity Center role (permission set) this account
	// signs with instead of AssumeRole (SourceSSO accounts); SSOReadOnly
	// says it is declared read-only (--sso-read-only-roles).
	SSORole     string `json:"sso_role,omitempty"`
	SSOReadOnly bool   `json:"sso_read_only,omitempty"`
	// DelegatedAdminFor are the service principals this account is the
	// organization's delegated administrator for ("securityhub.amazonaws.com"):
	// there, one call answers for every member (Organizations accounts,
	// when this identity may list them).
	DelegatedAdminFor []string `json:"delegated_admin_for,omitempty"`
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// ValidID reports whether id is a 12-digit AWS account id.
func ValidID(id string) bool { return accountIDPattern.MatchString(id) }

// regionPattern is the shape of the Region names AWS publishes
// (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html):
// a geographic prefix of a partition, an optional qualifier (gov, iso,
// isob, isof), a direction and a number: "us-east-1", "ap-southeast-7",
// "us-gov-west-1", "eusc-de-east-1", "cn-northwest-1". A new Region of a
// known area passes; a made-up one ("xx-nowhere-9") does not.
var regionPattern = regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx|cn|eusc)(-(gov|iso|isob|isof|de))?-` +
	`(east|west|north|south|central|northeast|northwest|southeast|southwest)-\d{1,2}$`)

// ValidRegion reports whether region is an AWS Region name
// ("us-east-1", "us-gov-west-1"). Anything else never reaches a URL or header.
func ValidRegion(region string) bool {
	return len(region) <= 32 && regionPattern.MatchString(region)
}
