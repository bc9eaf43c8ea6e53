package accounts

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
)

// portal is an in-memory SSOPortal: accounts by id, their roles, one
// account or role a page.
type portal struct {
	ids   []string
	roles map[string][]string
	fail  error
}

func (p *portal) ListAccounts(_ context.Context, in *sso.ListAccountsInput, _ ...func(*sso.Options)) (*sso.ListAccountsOutput, error) {
	if p.fail != nil {
		return nil, p.fail
	}
	i := 0
	if in.NextToken != nil {
		i = int((*in.NextToken)[0] - '0')
	}
	out := &sso.ListAccountsOutput{AccountList: []ssotypes.AccountInfo{{AccountId: aws.String(p.ids[i]), AccountName: aws.String("n" + p.ids[i][11:]), EmailAddress: aws.String(p.ids[i] + "@x")}}}
	if i+1 < len(p.ids) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func (p *portal) ListAccountRoles(_ context.Context, in *sso.ListAccountRolesInput, _ ...func(*sso.Options)) (*sso.ListAccountRolesOutput, error) {
	var out sso.ListAccountRolesOutput
	for _, r := range p.roles[*in.AccountId] {
		out.RoleList = append(out.RoleList, ssotypes.RoleInfo{AccountId: in.AccountId, RoleName: aws.String(r)})
	}
	return &out, nil
}

func TestSSOSourceChoosesRolesInOrderOfPreference(t *testing.T) {
	t.Parallel()
	p := &portal{ids: []string{"222222222222", "333333333333", "444444444444", "555555555555"}, roles: map[string][]string{
		"222222222222": {"AdministratorAccess", "ReadOnlyAccess"},
		"333333333333": {"AdministratorAccess"},
		"444444444444": {"Billing"},
		"555555555555": {"ViewOnlyAccess", "ReadOnlyAccess"},
	}}
	tests := []struct {
		name     string
		roles    []string
		want     map[string]string // account → role; absent: left out
		readOnly map[string]bool
	}{
		{"default: read-only sets only", nil,
			map[string]string{"222222222222": "ReadOnlyAccess", "555555555555": "ReadOnlyAccess"},
			map[string]bool{"222222222222": true, "555555555555": true}},
		{"administrator first", []string{"AdministratorAccess", "ReadOnly*"},
			map[string]string{"222222222222": "AdministratorAccess", "333333333333": "AdministratorAccess", "555555555555": "ReadOnlyAccess"},
			map[string]bool{"555555555555": true}},
		{"a glob takes the first match by name", []string{"*Only*"},
			map[string]string{"222222222222": "ReadOnlyAccess", "555555555555": "ReadOnlyAccess"},
			map[string]bool{"222222222222": true, "555555555555": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := NewSSOSource(p, SSOOptions{Session: "corp", Roles: tt.roles, Token: func(context.Context) (string, error) { return "t", nil }})
			got, err := src.Accounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d accounts, want %d: %+v", len(got), len(tt.want), got)
			}
			for _, a := range got {
				if a.SSORole != tt.want[a.ID] || a.SSOReadOnly != tt.readOnly[a.ID] || a.Source != SourceSSO || a.Tags["email"] != a.ID+"@x" {
					t.Errorf("%+v, want role %q read-only %v", a, tt.want[a.ID], tt.readOnly[a.ID])
				}
			}
			warned := strings.Join(src.Warnings(), " ")
			for _, id := range p.ids {
				if _, kept := tt.want[id]; !kept && !strings.Contains(warned, id) {
					t.Errorf("account %s left out without a word: %q", id, warned)
				}
			}
			if src.RoleCalls() != int64(len(p.ids)) {
				t.Errorf("%d ListAccountRoles calls, want one per account", src.RoleCalls())
			}
		})
	}
}

func TestSSOSourceExplainsAndKeepsNoFailure(t *testing.T) {
	t.Parallel()
	p := &portal{ids: []string{"222222222222"}, roles: map[string][]string{"222222222222": {"ReadOnlyAccess"}}, fail: errors.New("401")}
	fix := errors.New("sign in again with aws sso login --sso-session corp")
	src := NewSSOSource(p, SSOOptions{Session: "corp", Token: func(context.Context) (string, error) { return "t", nil },
		Explain: func(error) error { return fix }})
	if _, err := src.Accounts(context.Background()); !errors.Is(err, fix) {
		t.Fatalf("err = %v, want the fix", err)
	}
	p.fail = nil // signed in again: the next call discovers
	if got, err := src.Accounts(context.Background()); err != nil || len(got) != 1 {
		t.Fatalf("after the fix: %v, %v", got, err)
	}
}
