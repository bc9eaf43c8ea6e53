package accounts

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Account
		wantErr string
	}{
		{
			name: "seed JSON list",
			in:   `[{"id":"222222222222","name":"Production"},{"id":"333333333333","name":"Staging"}]`,
			want: []Account{{ID: "222222222222", Name: "Production", Source: SourceEnv}, {ID: "333333333333", Name: "Staging", Source: SourceEnv}},
		},
		{
			name: "object with accounts and overrides",
			in: `{"accounts":[{"id":"222222222222","name":"Prod","tags":{"env":"prod"},"role_name":"ops/Reader",
				"external_id":"x-1","regions":["eu-west-1"],"session_duration":"2h"}]}`,
			want: []Account{{ID: "222222222222", Name: "Prod", Source: SourceEnv, Tags: map[string]string{"env": "prod"},
				RoleName: "ops/Reader", ExternalID: "x-1", Regions: []string{"eu-west-1"}, SessionDuration: 2 * time.Hour}},
		},
		{
			name: "YAML",
			in:   "- id: \"222222222222\"\n  name: Prod\n  session_duration: 3600\n- id: '333333333333'\n",
			want: []Account{{ID: "222222222222", Name: "Prod", Source: SourceEnv, SessionDuration: time.Hour}, {ID: "333333333333", Name: "333333333333", Source: SourceEnv}},
		},
		{
			name: "numeric id",
			in:   `[{"id":222222222222}]`,
			want: []Account{{ID: "222222222222", Name: "222222222222", Source: SourceEnv}},
		},
		{name: "bad JSON", in: `[{"id":"222222222222"`, wantErr: "expected a JSON (or YAML) list like"},
		{name: "short id", in: `[{"id":"1234"}]`, wantErr: `account id "1234" must be exactly 12 digits`},
		{name: "letters in id", in: `[{"id":"22222222222a"}]`, wantErr: "must be exactly 12 digits"},
		{name: "missing id", in: `[{"name":"x"}]`, wantErr: "must be exactly 12 digits"},
		{name: "duplicate", in: `[{"id":"222222222222"},{"id":"222222222222"}]`, wantErr: "duplicate account id 222222222222"},
		{name: "empty", in: "  ", wantErr: "empty"},
		{name: "bad region", in: `[{"id":"222222222222","regions":["moon-1"]}]`, wantErr: `region "moon-1"`},
		{name: "bad duration", in: `[{"id":"222222222222","session_duration":"5m"}]`, wantErr: "between 15m and 12h"},
		{name: "bad role", in: `[{"id":"222222222222","role_name":"a b"}]`, wantErr: "role_name"},
		{name: "not a list", in: `"x"`, wantErr: "the document is a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in), SourceEnv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d accounts, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !equalAccount(got[i], tt.want[i]) {
					t.Errorf("account %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseWarnsOnUnknownFields(t *testing.T) {
	t.Parallel()
	got, warnings, err := ParseWithWarnings([]byte(`[{"id":"222222222222","role":"X"}]`), SourceFile)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"role"`) {
		t.Errorf("warnings = %q, want one naming \"role\"", warnings)
	}
}

func equalAccount(a, b Account) bool {
	if a.ID != b.ID || a.Name != b.Name || a.Source != b.Source || a.RoleName != b.RoleName ||
		a.ExternalID != b.ExternalID || a.SessionDuration != b.SessionDuration || len(a.Tags) != len(b.Tags) ||
		strings.Join(a.Regions, ",") != strings.Join(b.Regions, ",") {
		return false
	}
	for k, v := range a.Tags {
		if b.Tags[k] != v {
			return false
		}
	}
	return true
}

func TestParseErrorsNameNoGoType(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`not json`, `[{"id": "222222222222", "name": ["x"]}]`, `{"accounts": 5}`, `[{"id": "222222222222",`, `[1, 2]`} {
		_, err := Parse([]byte(in), SourceEnv)
		if err == nil || !strings.Contains(err.Error(), `[{"id":"222222222222","name":"Production"}]`) ||
			strings.Contains(err.Error(), "Go value") || strings.Contains(err.Error(), "accounts.entry") || strings.Contains(err.Error(), "struct") {
			t.Errorf("Parse(%s): %v", in, err)
		}
	}
}

func TestValidRegion(t *testing.T) {
	t.Parallel()
	for region, want := range map[string]bool{
		"us-east-1": true, "eu-central-2": true, "ap-southeast-7": true, "us-gov-west-1": true, "cn-northwest-1": true,
		"il-central-1": true, "mx-central-1": true, "ca-west-1": true, "us-iso-east-1": true, "eusc-de-east-1": true,
		"xx-nowhere-9": false, "us-nowhere-1": false, "moon-1": false, "us-east": false, "US-EAST-1": false, "us-east-1a": false,
	} {
		if ValidRegion(region) != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", region, !want, want)
		}
	}
}
