package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Base credentials of the central (caller) principal the fakes accept.
const (
	BaseAccessKeyID     = "AKIAFAKEBASE00000001"
	BaseSecretAccessKey = "fake/base/secret/key/0000000000000000000"
	CentralAccount      = "111111111111"
	// DefaultRoleName is the role the fake STS lets callers assume.
	DefaultRoleName = "CentralOpsTargetRole"
)

// Account is an account the fakes know.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Options configures a Stack.
type Options struct {
	// Accounts are the member accounts (roles assumable, data served).
	Accounts []Account
	// Region is the signing region the fake AWS MCP Server expects.
	Region string
	// RoleName is the assumable role; DefaultRoleName when empty.
	RoleName string
	// Org is the organization the fake Organizations API serves; its
	// accounts' roles are assumable too.
	Org []OrgAccount
	// Tools is the tool list the fake AWS MCP Server answers: ToolsToday
	// (the zero value) or ToolsBefore20260831.
	Tools ToolList
	// SSO are the accounts of the fake IAM Identity Center portal (their
	// data is served too).
	SSO []SSOAccount
}

// Stack is a running set of fakes on 127.0.0.1.
type Stack struct {
	Keys *Keyring
	STS  *STS
	MCP  *MCPServer
	Org  *Organizations
	SSO  *SSOPortal
	// STSURL, MCPURL, OrgURL and SSOURL (the portal and SSO OIDC) are the
	// endpoints to point the proxy at.
	STSURL string
	MCPURL string
	OrgURL string
	SSOURL string
	// Base is the central principal's long-term credential.
	Base     Credential
	Accounts []Account

	servers []*httptest.Server
}

// Start runs the fakes. Close stops them.
func Start(opts Options) *Stack {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.RoleName == "" {
		opts.RoleName = DefaultRoleName
	}
	keys := NewKeyring()
	base := Credential{
		AccessKeyID:     BaseAccessKeyID,
		SecretAccessKey: BaseSecretAccessKey,
		Account:         CentralAccount,
		Principal:       "arn:aws:iam::" + CentralAccount + ":user/central-ops",
	}
	keys.Add(base)
	names := make(map[string]string, len(opts.Accounts))
	for _, a := range opts.Accounts {
		names[a.ID] = a.Name
	}
	for _, a := range opts.Org {
		names[a.ID] = a.Name
	}
	for _, a := range opts.SSO {
		names[a.ID] = a.Name
	}
	s := &Stack{
		Keys:     keys,
		STS:      newSTS(keys, opts.RoleName, opts.Region),
		MCP:      newMCPServer(keys, opts.Region, names, opts.Tools),
		Org:      newOrganizations(keys),
		SSO:      newSSOPortal(keys, opts.SSO),
		Base:     base,
		Accounts: opts.Accounts,
	}
	for _, a := range opts.Accounts {
		s.STS.AddAccount(a.ID)
	}
	for _, a := range opts.Org {
		s.STS.AddAccount(a.ID)
	}
	s.Org.Load(opts.Org)
	stsSrv := httptest.NewServer(s.STS)
	mcpSrv := httptest.NewUnstartedServer(s.MCP)
	mcpSrv.Config.ConnState = s.MCP.countConnections
	mcpSrv.Start()
	orgSrv := httptest.NewServer(s.Org)
	ssoSrv := httptest.NewServer(s.SSO)
	s.servers = append(s.servers, stsSrv, mcpSrv, orgSrv, ssoSrv)
	s.SSOURL = ssoSrv.URL
	s.STSURL = stsSrv.URL
	s.MCPURL = mcpSrv.URL + "/mcp"
	s.OrgURL = orgSrv.URL
	return s
}

// BaseCredentials returns the central principal's credentials for an AWS
// SDK client (a real client pointed at the fakes).
func (s *Stack) BaseCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.Base.AccessKeyID, s.Base.SecretAccessKey, "")
}

// Close stops every fake.
func (s *Stack) Close() {
	for _, srv := range s.servers {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Env returns the environment that points the proxy (and the AWS SDK in it)
// at the fakes, with the base credentials, and keeps it away from the
// user's own AWS configuration.
func (s *Stack) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.Base.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + s.Base.SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_STS=" + s.STSURL,
		"AWS_ENDPOINT_URL_ORGANIZATIONS=" + s.OrgURL,
		"AWS_ENDPOINT_URL_SSO=" + s.SSOURL,
		"AWS_ENDPOINT_URL_SSO_OIDC=" + s.SSOURL,
		"AWS_MCP_ENDPOINT=" + s.MCPURL,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PROFILE=",
	}
}

// AccountsJSON returns the accounts as the proxy's TARGET_ACCOUNTS JSON.
func (s *Stack) AccountsJSON() string {
	out, _ := json.Marshal(s.Accounts)
	return string(out)
}

// NumberedAccounts returns n accounts with ids 200000000001, 200000000002, ...
// named "acct-001", "acct-002", ...
func NumberedAccounts(n int) []Account {
	out := make([]Account, n)
	for i := range out {
		out[i] = Account{ID: fmt.Sprintf("2%011d", i+1), Name: fmt.Sprintf("acct-%03d", i+1)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
