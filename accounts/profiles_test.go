package accounts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const awsConfig = `[default]
region = us-east-1

[profile prod-sso]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = ReadOnly

[profile prod-keys]
aws_access_key_id = AKIAEXAMPLE
# a comment
[profile prod-broken]
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
[profile dev-x]
sso_account_id = 444444444444
`

func TestProfileSource(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(file, []byte(awsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	resolved := map[string]string{}
	src, err := NewProfileSource("prod-*", file, func(_ context.Context, profile string) (string, error) {
		mu.Lock()
		resolved[profile] = "called"
		mu.Unlock()
		if profile == "prod-broken" {
			return "", errors.New("the SSO session has expired")
		}
		return "333333333333", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Accounts(context.Background())
	var partial *PartialError
	if !errors.As(err, &partial) || !strings.Contains(err.Error(), "prod-broken") || !strings.Contains(err.Error(), "aws sso login --profile prod-broken") {
		t.Fatalf("err = %v, want a PartialError naming prod-broken", err)
	}
	if len(got) != 2 || got[0].Name != "prod-keys" || got[0].ID != "333333333333" || got[1].Name != "prod-sso" || got[1].ID != "222222222222" ||
		got[0].Source != SourceProfile || got[1].Profile != "prod-sso" {
		t.Errorf("accounts = %+v", got)
	}
	if resolved["prod-sso"] != "" {
		t.Error("an SSO profile with sso_account_id was resolved through STS")
	}

	// The directory keeps the healthy sources' accounts and reports the rest.
	dir, _ := NewDirectory(nil, Static{{ID: "555555555555", Name: "file", Source: SourceFile}}, src)
	all, err := dir.List(context.Background())
	if !errors.As(err, &partial) || len(all) != 3 {
		t.Errorf("List = %d accounts, %v; want 3 and a PartialError", len(all), err)
	}
	if a, err := dir.Lookup(context.Background(), "555555555555"); err != nil || a.Name != "file" {
		t.Errorf("Lookup with a failed source: %+v %v", a, err)
	}

	if _, err := NewProfileSource("[", file, nil); err == nil {
		t.Error("a bad glob was accepted")
	}
	none, _ := NewProfileSource("staging-*", file, nil)
	if _, err := none.Accounts(context.Background()); err == nil || !strings.Contains(err.Error(), "no profile") {
		t.Errorf("no matching profile: %v", err)
	}
}
