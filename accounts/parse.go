package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// entry is one account as written in an accounts file or TARGET_ACCOUNTS.
type entry struct {
	ID              flexString        `json:"id" yaml:"id"`
	Name            string            `json:"name" yaml:"name"`
	Tags            map[string]string `json:"tags" yaml:"tags"`
	OUPath          string            `json:"ou_path" yaml:"ou_path"`
	OUID            string            `json:"ou_id" yaml:"ou_id"`
	RoleName        string            `json:"role_name" yaml:"role_name"`
	ExternalID      string            `json:"external_id" yaml:"external_id"`
	Regions         []string          `json:"regions" yaml:"regions"`
	SessionDuration flexString        `json:"session_duration" yaml:"session_duration"`
	// DelegatedAdminFor declares the service principals the account is
	// the organization's delegated administrator for, where Organizations
	// cannot be asked.
	DelegatedAdminFor []string `json:"delegated_admin_for" yaml:"delegated_admin_for"`
}

// flexString accepts a JSON string or number, so `"id": 222222222222` and
// `"session_duration": 3600` are read as the user meant them.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// ReadFile reads accounts from a JSON or YAML file, returning notes on what
// it ignored.
func ReadFile(path string) ([]Account, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read accounts file: %w", err)
	}
	accts, warnings, err := ParseWithWarnings(data, SourceFile)
	if err != nil {
		return nil, nil, fmt.Errorf("accounts file %s: %w", path, err)
	}
	return accts, warnings, nil
}

// Parse reads accounts from JSON or YAML: either a list of accounts or an
// object with an "accounts" list. Each account needs a 12-digit "id"; ids
// must be unique. source is recorded on every account.
func Parse(data []byte, source string) ([]Account, error) {
	accts, _, err := ParseWithWarnings(data, source)
	return accts, err
}

// ParseWithWarnings is Parse that also returns notes on what it ignored,
// such as unknown fields, for the caller to log.
func ParseWithWarnings(data []byte, source string) ([]Account, []string, error) {
	entries, warnings, err := decodeEntries(data)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Account, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i, e := range entries {
		acct, err := e.account(source)
		if err != nil {
			return nil, nil, fmt.Errorf("account %d: %w", i+1, err)
		}
		if j, dup := seen[acct.ID]; dup {
			return nil, nil, fmt.Errorf("account %d: duplicate account id %s (also account %d)", i+1, acct.ID, j+1)
		}
		seen[acct.ID] = i
		out = append(out, acct)
	}
	return out, warnings, nil
}

func decodeEntries(data []byte) ([]entry, []string, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil, fmt.Errorf("no accounts: the document is empty")
	}
	if trimmed[0] != '[' && trimmed[0] != '{' {
		// YAML: decode to a generic tree, then through JSON so both formats
		// share one set of field rules.
		var tree any
		if err := yaml.Unmarshal(trimmed, &tree); err != nil {
			return nil, nil, fmt.Errorf("invalid YAML: %w", err)
		}
		asJSON, err := json.Marshal(tree)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid YAML: %w", err)
		}
		trimmed = asJSON
	}
	// Unknown fields are tolerated (other tools write extra keys), but
	// reported, so a typo such as "role" for "role_name" is not silent.
	var warnings []string
	entries, err := decodeJSONEntries(trimmed, true)
	if err != nil && strings.Contains(err.Error(), "unknown field") {
		warnings = append(warnings, "ignored "+strings.TrimPrefix(err.Error(), "json: "))
		entries, err = decodeJSONEntries(trimmed, false)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("expected a JSON (or YAML) list like %s, or {\"accounts\": [...]}: %s", accountsExample, inUserWords(err))
	}
	return entries, warnings, nil
}

// accountsExample is the shape of an accounts document, for errors.
const accountsExample = `[{"id":"222222222222","name":"Production"}]`

// inUserWords describes a decoding error without Go's type names: where
// the document went wrong and what it held there.
func inUserWords(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		where := "the document"
		if typeErr.Field != "" {
			where = fmt.Sprintf("%q", typeErr.Field)
		}
		article := "a"
		if strings.ContainsAny(typeErr.Value[:1], "aeiou") {
			article = "an"
		}
		return fmt.Sprintf("%s is %s %s", where, article, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON at byte %d (%s)", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// decodeJSONEntries decodes a list of accounts or an object with an
// "accounts" list.
func decodeJSONEntries(data []byte, strict bool) ([]entry, error) {
	var wrapped struct {
		Accounts []entry `json:"accounts"`
	}
	var target any = &wrapped
	var list []entry
	if data[0] == '[' {
		target = &list
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(target); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the first JSON value")
	}
	if data[0] == '[' {
		return list, nil
	}
	return wrapped.Accounts, nil
}

func (e entry) account(source string) (Account, error) {
	id := strings.TrimSpace(string(e.ID))
	if !ValidID(id) {
		return Account{}, fmt.Errorf("account id %q must be exactly 12 digits (quote it in JSON to keep leading zeros)", string(e.ID))
	}
	a := Account{
		ID:         id,
		Name:       strings.TrimSpace(e.Name),
		Source:     source,
		OUPath:     e.OUPath,
		OUID:       e.OUID,
		Tags:       e.Tags,
		RoleName:   e.RoleName,
		ExternalID: e.ExternalID,
		Regions:    e.Regions,

		DelegatedAdminFor: e.DelegatedAdminFor,
	}
	for _, p := range a.DelegatedAdminFor {
		if p == "" || strings.ContainsAny(p, " \t\n") {
			return Account{}, fmt.Errorf("account %s: delegated_admin_for %q is not a service principal (like securityhub.amazonaws.com)", id, p)
		}
	}
	if a.Name == "" {
		a.Name = id
	}
	if a.RoleName != "" && !ValidRoleName(a.RoleName) {
		return Account{}, fmt.Errorf("account %s: role_name %q is not a valid IAM role name or path", id, a.RoleName)
	}
	for _, r := range a.Regions {
		if !ValidRegion(r) {
			return Account{}, fmt.Errorf("account %s: region %q is not a valid AWS region name", id, r)
		}
	}
	if e.SessionDuration != "" {
		d, err := ParseDuration(string(e.SessionDuration))
		if err != nil {
			return Account{}, fmt.Errorf("account %s: session_duration: %w", id, err)
		}
		if d < 15*time.Minute || d > 12*time.Hour {
			return Account{}, fmt.Errorf("account %s: session_duration %s must be between 15m and 12h", id, d)
		}
		a.SessionDuration = d
	}
	return a, nil
}

// ParseDuration accepts Go durations ("1h", "90s") and plain seconds ("3600").
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want seconds or a duration such as 90s, 2m or 1h", s)
	}
	return d, nil
}

// ValidRoleName reports whether name is an IAM role name, optionally with a path
// ("ops/CentralOpsTargetRole").
func ValidRoleName(name string) bool {
	if len(name) == 0 || len(name) > 512 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("+=,.@_-/", r):
		default:
			return false
		}
	}
	return !strings.HasPrefix(name, "/") && !strings.HasSuffix(name, "/")
}
