// Package guard holds the pure security classifiers of fan-outs, checked
// before any call as a second line behind IAM: the write guard (is an AWS
// CLI command read-only?), the secret guard (does it read a secret?), the
// one reader of an arguments object's cli_command both use, and the
// session-policy documents IAM enforces in each account. Nothing here
// reads configuration; proxy decides when they apply.
package guard

import (
	"encoding/json"
	"errors"
	"strings"
)

// readOnlyPrefixes are the CLI operation prefixes that only read.
var readOnlyPrefixes = []string{"list-", "describe-", "get-", "search-", "lookup-", "batch-get-", "scan", "query"}

// globalOptionsWithValue are AWS CLI global options that take a value.
var globalOptionsWithValue = map[string]bool{
	"--region": true, "--profile": true, "--output": true, "--endpoint-url": true, "--query": true,
	"--color": true, "--cli-read-timeout": true, "--cli-connect-timeout": true, "--ca-bundle": true,
	"--cli-binary-format": true,
}

// globalFlags are AWS CLI global options without a value.
var globalFlags = map[string]bool{
	"--debug": true, "--no-verify-ssl": true, "--no-paginate": true, "--no-sign-request": true,
	"--no-cli-pager": true, "--cli-auto-prompt": true, "--no-cli-auto-prompt": true,
}

// IsReadOnlyCommand classifies an AWS CLI command for the write guard: the
// operation of "aws [global options] <service> <operation> ..." must start
// with list-, describe-, get-, search-, lookup-, batch-get-, scan or query,
// or the command must be "aws s3 ls". Anything else, including a command
// that cannot be parsed or that chains shell syntax, counts as a write.
func IsReadOnlyCommand(command string) bool {
	words, ok := splitCommand(command)
	if !ok || len(words) < 3 || words[0] != "aws" {
		return false
	}
	var positional []string
	for i := 1; i < len(words) && len(positional) < 2; i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			positional = append(positional, strings.ToLower(w))
			continue
		}
		if len(positional) == 1 {
			// An option between service and operation is not CLI syntax.
			return false
		}
		name, _, hasValue := strings.Cut(w, "=")
		switch {
		case globalFlags[name] && !hasValue:
		case globalOptionsWithValue[name] && hasValue:
		case globalOptionsWithValue[name]:
			i++
		default:
			return false
		}
	}
	if len(positional) < 2 {
		return false
	}
	service, operation := positional[0], positional[1]
	if strings.Trim(service, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" ||
		strings.Trim(operation, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return false
	}
	if service == "s3" {
		return operation == "ls"
	}
	for _, p := range readOnlyPrefixes {
		if strings.HasPrefix(operation, p) {
			return true
		}
	}
	return false
}

// splitCommand splits a command line into words as a POSIX shell would,
// honouring single and double quotes and backslashes. It fails on
// unbalanced quotes and on shell syntax that would run something else:
// unquoted ; | & < > ` and newlines, and $ outside single quotes.
func splitCommand(command string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range command {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '$', '`':
				return nil, false
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\':
			escaped, inWord = true, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.ContainsRune(";|&<>`$\n\r", r):
			return nil, false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, false
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}

// ErrAmbiguousCommand is an arguments object whose cli_command cannot be
// told for sure: given under keys that differ only in case (a
// case-insensitive decoder upstream could read any of them), or not as a
// string. Both guards refuse it.
var ErrAmbiguousCommand = errors.New("ambiguous cli_command")

// CLICommand is the one reader of the cli_command argument for both
// guards: the command under the key "cli_command" in any case, "" when
// there is none (or the arguments are not an object), and
// ErrAmbiguousCommand when there are several or it is not a string.
func CLICommand(args json.RawMessage) (string, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(args, &fields) != nil {
		return "", nil
	}
	var found []json.RawMessage
	for k, v := range fields {
		if strings.EqualFold(k, "cli_command") {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		var cmd string
		if json.Unmarshal(found[0], &cmd) != nil {
			return "", ErrAmbiguousCommand
		}
		return cmd, nil
	}
	return "", ErrAmbiguousCommand
}

// ReadOnlyArguments reports whether the cli_command of args is read-only
// (IsReadOnlyCommand); an ambiguous or missing one is not.
func ReadOnlyArguments(args json.RawMessage) bool {
	cmd, err := CLICommand(args)
	return err == nil && IsReadOnlyCommand(cmd)
}
