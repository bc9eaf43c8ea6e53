package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

var estate = []Account{
	{ID: "100000000001", Name: "prod-web", OUPath: "Root/Workloads/Prod", OUID: "ou-ab12-prod0001", Tags: map[string]string{"env": "prod", "team": "web"}},
	{ID: "100000000002", Name: "prod-data", OUPath: "Root/Workloads/Prod", OUID: "ou-ab12-prod0001", Tags: map[string]string{"env": "prod", "team": "data"}},
	{ID: "100000000003", Name: "dev-web", OUPath: "Root/Workloads/Dev", OUID: "ou-ab12-dev00001", Tags: map[string]string{"env": "dev", "team": "web"}},
	{ID: "100000000004", Name: "security", OUPath: "Root/Security", OUID: "ou-ab12-sec00001", Tags: map[string]string{"team": "sec"}},
	{ID: "100000000005", Name: "Prod-Legacy", OUPath: "Root/WorkloadsOld", OUID: "ou-ab12-old00001"},
}

func TestSelect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sel  Selector
		want []string
	}{
		{"everything", Selector{}, []string{"100000000001", "100000000002", "100000000003", "100000000004", "100000000005"}},
		{"one tag", Selector{Tags: map[string]string{"env": "prod"}}, []string{"100000000001", "100000000002"}},
		{"tag AND tag", Selector{Tags: map[string]string{"env": "prod", "team": "web"}}, []string{"100000000001"}},
		{"OU path prefix", Selector{OU: "Root/Workloads"}, []string{"100000000001", "100000000002", "100000000003"}},
		{"OU path prefix with slash", Selector{OU: "Root/Workloads/"}, []string{"100000000001", "100000000002", "100000000003"}},
		{"OU path exact", Selector{OU: "Root/Workloads/Dev"}, []string{"100000000003"}},
		{"OU id", Selector{OU: "ou-ab12-prod0001"}, []string{"100000000001", "100000000002"}},
		{"name glob, case-insensitive", Selector{Accounts: []string{"prod-*"}}, []string{"100000000001", "100000000002", "100000000005"}},
		{"id list", Selector{Accounts: []string{"100000000004", "100000000003"}}, []string{"100000000003", "100000000004"}},
		{"exact name", Selector{Accounts: []string{"security"}}, []string{"100000000004"}},
		{"glob AND tag", Selector{Accounts: []string{"*-web"}, Tags: map[string]string{"env": "dev"}}, []string{"100000000003"}},
		{"OU AND tag", Selector{OU: "Root/Workloads", Tags: map[string]string{"team": "web"}}, []string{"100000000001", "100000000003"}},
		{"all three", Selector{Accounts: []string{"prod-*"}, OU: "Root/Workloads/Prod", Tags: map[string]string{"team": "data"}}, []string{"100000000002"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Select(estate, tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("selected %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestSelectEmptyIsAnErrorNamingTheSelector(t *testing.T) {
	t.Parallel()
	for _, sel := range []Selector{
		{Tags: map[string]string{"env": "qa"}},
		{OU: "Root/Nowhere"},
		{Accounts: []string{"staging-*"}},
		{Tags: map[string]string{"env": "prod"}, OU: "Root/Workloads/Dev"},
	} {
		_, err := Select(estate, sel)
		if !errors.Is(err, ErrEmptySelection) || !strings.Contains(err.Error(), sel.String()) {
			t.Errorf("Select(%s) err = %v, want ErrEmptySelection naming the selector", sel, err)
		}
	}
	if _, err := Select(estate, Selector{Accounts: []string{"[bad"}}); err == nil {
		t.Error("a malformed glob was accepted")
	}
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := Static{{ID: "100000000001", Name: "from-file", Source: SourceFile}, {ID: "100000000002", Name: "sandbox-1", Source: SourceFile}}
	org := Static{{ID: "100000000001", Name: "from-org", Source: SourceOrganizations}, {ID: "100000000003", Name: "audit", Source: SourceOrganizations}}
	dir, err := NewDirectory([]string{"sandbox-*"}, file, org)
	if err != nil {
		t.Fatal(err)
	}
	all, err := dir.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Name != "from-file" || all[1].ID != "100000000003" {
		t.Errorf("List = %+v, want from-file then audit (first source wins, sandbox excluded)", all)
	}
	if _, err := dir.Lookup(ctx, "100000000002"); !errors.Is(err, ErrUnknownAccount) {
		t.Errorf("excluded account found: %v", err)
	}
	if _, err := dir.Lookup(ctx, "12"); !errors.Is(err, ErrUnknownAccount) {
		t.Errorf("malformed id: %v", err)
	}
	if a, err := dir.Lookup(ctx, "100000000003"); err != nil || a.Name != "audit" {
		t.Errorf("Lookup = %+v, %v", a, err)
	}
}

func TestSelectNamesUnknownIDs(t *testing.T) {
	t.Parallel()
	_, err := Select(estate, Selector{Accounts: []string{"100000000001", "999999999999"}})
	if !errors.Is(err, ErrUnknownAccount) || !strings.Contains(err.Error(), "999999999999") {
		t.Errorf("err = %v, want ErrUnknownAccount naming 999999999999", err)
	}
}

func TestOverlaps(t *testing.T) {
	t.Parallel()
	file := []Account{{ID: "222222222222", Source: SourceFile}, {ID: "333333333333", Source: SourceFile}}
	env := []Account{{ID: "333333333333", Source: SourceEnv}, {ID: "444444444444", Source: SourceEnv}}
	org := []Account{{ID: "222222222222", Source: SourceOrganizations}, {ID: "444444444444", Source: SourceOrganizations}, {ID: "555555555555", Source: SourceOrganizations}}
	got := Overlaps(file, env, org)
	want := []string{
		"1 account is in both the accounts file and TARGET_ACCOUNTS; the entries of the accounts file are used: 333333333333",
		"1 account is in both the accounts file and AWS Organizations; the entries of the accounts file are used: 222222222222",
		"1 account is in both TARGET_ACCOUNTS and AWS Organizations; the entries of TARGET_ACCOUNTS are used: 444444444444",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Overlaps =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := Overlaps(file, []Account{{ID: "999999999999", Source: SourceEnv}}); len(got) != 0 {
		t.Errorf("disjoint sources: %v", got)
	}
	d, err := NewDirectory(nil, Static(file), Static(env))
	if err != nil {
		t.Fatal(err)
	}
	all, err := d.List(context.Background())
	if err != nil || len(all) != 3 || all[1].Source != SourceFile || len(d.Warnings()) != 1 {
		t.Errorf("List = %+v, %v; warnings %v", all, err, d.Warnings())
	}
}
