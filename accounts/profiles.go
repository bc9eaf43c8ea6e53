package accounts

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
)

// ProfileSource makes an account of every AWS config profile whose name
// matches a glob (SSO profiles included). Such an account signs with its
// profile's own credentials instead of an assumed role. Its id comes from
// the profile's sso_account_id, else from resolveID (sts:GetCallerIdentity
// with the profile's credentials). Profiles are read once; it is safe for
// concurrent use.
type ProfileSource struct {
	glob       string
	configFile string
	resolveID  func(ctx context.Context, profile string) (string, error)

	mu     sync.Mutex
	cached []Account
}

// NewProfileSource returns a source over the profiles of configFile whose
// names match glob.
func NewProfileSource(glob, configFile string, resolveID func(context.Context, string) (string, error)) (*ProfileSource, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("profiles glob %q: %w", glob, err)
	}
	return &ProfileSource{glob: glob, configFile: configFile, resolveID: resolveID}, nil
}

// profile is one [profile name] section of an AWS config file.
type profile struct {
	name         string
	ssoAccountID string
}

// Accounts returns one account per matching profile.
func (p *ProfileSource) Accounts(ctx context.Context) ([]Account, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cached != nil {
		return p.cached, nil
	}
	profiles, err := readProfiles(p.configFile)
	if err != nil {
		return nil, err
	}
	var matching []profile
	for _, pr := range profiles {
		if ok, _ := path.Match(p.glob, pr.name); ok {
			matching = append(matching, pr)
		}
	}
	if len(matching) == 0 {
		return nil, fmt.Errorf("no profile in %s matches %q", p.configFile, p.glob)
	}
	accts := make([]Account, len(matching))
	errs := make([]error, len(matching))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, pr := range matching {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := pr.ssoAccountID
			if id == "" && p.resolveID != nil {
				var err error
				if id, err = p.resolveID(ctx, pr.name); err != nil {
					errs[i] = fmt.Errorf("profile %s: cannot tell its account id: %w (for an SSO profile, run aws sso login --profile %s)", pr.name, err, pr.name)
					return
				}
			}
			if !ValidID(id) {
				errs[i] = fmt.Errorf("profile %s: account id %q is not 12 digits", pr.name, id)
				return
			}
			accts[i] = Account{ID: id, Name: pr.name, Source: SourceProfile, Profile: pr.name}
		})
	}
	wg.Wait()
	var ok []Account
	var failed []error
	for i, a := range accts {
		if errs[i] != nil {
			failed = append(failed, errs[i])
		} else {
			ok = append(ok, a)
		}
	}
	if len(failed) > 0 {
		// Not cached: the failed profiles are tried again next time.
		return ok, &PartialError{Errs: failed}
	}
	p.cached = accts
	return accts, nil
}

// readProfiles lists the profiles of an AWS config file in name order.
func readProfiles(file string) ([]profile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read AWS config file: %w", err)
	}
	defer f.Close()
	var out []profile
	var cur *profile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section := strings.TrimSpace(line[1 : len(line)-1])
			cur = nil
			if section == "default" {
				out = append(out, profile{name: "default"})
				cur = &out[len(out)-1]
			} else if name, ok := strings.CutPrefix(section, "profile "); ok {
				out = append(out, profile{name: strings.TrimSpace(name)})
				cur = &out[len(out)-1]
			}
			continue
		}
		if cur == nil {
			continue
		}
		if key, value, ok := strings.Cut(line, "="); ok && strings.TrimSpace(key) == "sso_account_id" {
			cur.ssoAccountID = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read AWS config file: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
