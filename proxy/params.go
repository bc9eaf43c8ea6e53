package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Args are a tool call's arguments by name, still encoded.
type Args map[string]json.RawMessage

// ParseArgs decodes a tool call's arguments object, rejecting parameters
// not in allowed so a misspelt one is an error rather than ignored.
func ParseArgs(raw json.RawMessage, allowed ...string) (Args, error) {
	raw = bytes.TrimSpace(raw)
	if !hasJSON(raw) {
		return Args{}, nil
	}
	var a Args
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("arguments must be a JSON object: %w", err)
	}
	var unknown []string
	for k := range a {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown parameter %s (this tool takes %s)", strings.Join(quoteAll(unknown), ", "), strings.Join(allowed, ", "))
	}
	return a, nil
}

// schemaArgs returns the property names of a tool's input schema, in
// order: the arguments ParseArgs allows. A malformed schema is a bug, and
// panics at start-up.
func schemaArgs(schema string) []string {
	var top struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(schema), &top); err != nil {
		panic(fmt.Sprintf("tool schema: %v", err))
	}
	dec := json.NewDecoder(bytes.NewReader(top.Properties))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		panic("tool schema: properties is not an object")
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			panic(fmt.Sprintf("tool schema: %v", err))
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			panic(fmt.Sprintf("tool schema: %v", err))
		}
	}
	return names
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// present reports whether a parameter was given with a non-null value.
func (a Args) present(name string) bool {
	v, ok := a[name]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// String returns a string parameter. A required one must be non-empty.
func (a Args) String(name string, required bool) (string, error) {
	if !a.present(name) {
		if required {
			return "", fmt.Errorf("missing required parameter %q", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(a[name], &s); err != nil {
		return "", fmt.Errorf("parameter %q must be a string", name)
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", fmt.Errorf("parameter %q must not be empty", name)
	}
	return s, nil
}

// AccountID returns an account id parameter, accepting a JSON number too
// (agents sometimes send 222222222222 unquoted).
func (a Args) AccountID(name string) (string, error) {
	if a.present(name) {
		var n json.Number
		if json.Unmarshal(a[name], &n) == nil {
			return n.String(), nil
		}
	}
	return a.String(name, true)
}

// Strings returns a list-of-strings parameter; a single string is taken as
// a list of one.
func (a Args) Strings(name string) ([]string, error) {
	if !a.present(name) {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(a[name], &list); err != nil {
		var one string
		if json.Unmarshal(a[name], &one) != nil {
			return nil, fmt.Errorf("parameter %q must be an array of strings", name)
		}
		list = []string{one}
	}
	for i, s := range list {
		list[i] = strings.TrimSpace(s)
		if list[i] == "" {
			return nil, fmt.Errorf("parameter %q must not contain empty strings", name)
		}
	}
	return list, nil
}

// StringMap returns an object-of-strings parameter.
func (a Args) StringMap(name string) (map[string]string, error) {
	if !a.present(name) {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(a[name], &m); err != nil {
		return nil, fmt.Errorf("parameter %q must be an object of string values, like {\"env\": \"prod\"}", name)
	}
	return m, nil
}

// Object returns an object parameter as raw JSON ("{}" when absent). A
// string holding a JSON object is accepted too, as agents sometimes encode
// nested arguments.
func (a Args) Object(name string) (json.RawMessage, error) {
	if !a.present(name) {
		return json.RawMessage("{}"), nil
	}
	raw := bytes.TrimSpace(a[name])
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			raw = bytes.TrimSpace([]byte(s))
			if len(raw) == 0 {
				return json.RawMessage("{}"), nil
			}
		}
	}
	var fields map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return nil, fmt.Errorf("parameter %q must be a JSON object of the upstream tool's arguments", name)
	}
	// Re-encode, so the bytes the write guard classifies are the bytes sent:
	// a repeated key collapses to the value every decoder sees.
	canonical, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", name, err)
	}
	return canonical, nil
}

// toolNamePattern is checked with a separate length limit: a bounded
// repetition would cost milliseconds of start-up to compile.
var toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]*$`)

const maxToolNameLen = 128

// validateToolName checks an upstream tool name.
func validateToolName(name string) error {
	if name == "" {
		return fmt.Errorf("missing required parameter \"tool_name\"")
	}
	if len(name) > maxToolNameLen || !toolNamePattern.MatchString(name) {
		return fmt.Errorf("tool_name %q is not a valid tool name (letters, digits, _ . : / -; list_tools shows the upstream tools)", name)
	}
	return nil
}

// Int returns an integer parameter and whether it was given; a JSON number
// with a fraction, or a string holding digits, is refused or taken as the
// integer it spells.
func (a Args) Int(name string) (int64, bool, error) {
	if !a.present(name) {
		return 0, false, nil
	}
	raw := bytes.TrimSpace(a[name])
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(strings.TrimSpace(s))
		}
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, true, fmt.Errorf("parameter %q must be a whole number", name)
	}
	v, err := n.Int64()
	if err != nil {
		return 0, true, fmt.Errorf("parameter %q must be a whole number, not %s", name, n)
	}
	return v, true, nil
}

// Seconds returns a duration parameter given in seconds (fractions
// allowed) and whether it was given.
func (a Args) Seconds(name string) (time.Duration, bool, error) {
	if !a.present(name) {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(a[name], &f); err != nil {
		return 0, true, fmt.Errorf("parameter %q must be a number of seconds", name)
	}
	if f < 0 || f > 24*3600 {
		return 0, true, fmt.Errorf("parameter %q must be between 0 and 86400 seconds", name)
	}
	return time.Duration(f * float64(time.Second)), true, nil
}

// Bool returns a boolean parameter (false when absent); the strings
// "true" and "false" are taken as what they spell.
func (a Args) Bool(name string) (bool, error) {
	if !a.present(name) {
		return false, nil
	}
	var b bool
	if json.Unmarshal(a[name], &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(a[name], &s) == nil {
		switch strings.TrimSpace(strings.ToLower(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("parameter %q must be true or false", name)
}
