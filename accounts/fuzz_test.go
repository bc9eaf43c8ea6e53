package accounts

import "testing"

// FuzzParse feeds arbitrary accounts documents (JSON or YAML) to Parse: it
// must not panic, and what it accepts must be valid and unique.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"id":"222222222222","name":"Production"},{"id":"333333333333","name":"Staging"}]`))
	f.Add([]byte(`{"accounts":[{"id":222222222222,"tags":{"env":"prod"},"regions":["eu-west-1"],"session_duration":"2h"}]}`))
	f.Add([]byte("- id: '222222222222'\n  name: x\n  role_name: ops/Reader\n"))
	f.Add([]byte(`[{"id":"22222222222"}]`))
	f.Add([]byte(`[{"id":"222222222222"},{"id":"222222222222"}]`))
	f.Add([]byte(`{"accounts": null}`))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		accts, err := Parse(data, SourceFile)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, a := range accts {
			if !ValidID(a.ID) || seen[a.ID] || a.Name == "" || a.Source != SourceFile {
				t.Fatalf("accepted an invalid account %+v from %q", a, data)
			}
			seen[a.ID] = true
			for _, r := range a.Regions {
				if !ValidRegion(r) {
					t.Fatalf("accepted region %q", r)
				}
			}
		}
	})
}

// FuzzSelect checks selectors never panic and only narrow.
func FuzzSelect(f *testing.F) {
	f.Add("prod-*", "env", "prod", "Root/Workloads")
	f.Add("[", "", "", "ou-ab12-prod0001")
	f.Fuzz(func(t *testing.T, glob, key, value, ou string) {
		sel := Selector{Accounts: []string{glob}, Tags: map[string]string{key: value}, OU: ou}
		got, err := Select(estate, sel)
		if err != nil {
			return
		}
		for _, a := range got {
			if !sel.Match(a) {
				t.Fatalf("selected %s, which does not match %s", a.ID, sel)
			}
		}
	})
}
