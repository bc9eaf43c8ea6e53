package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// CallAWSTool is the upstream tool that runs an AWS CLI command; its
// read-only status depends on the command, not on its annotation.
const CallAWSTool = "aws___call_aws"

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
		if len(positional) == 2 {
			break
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

// classify reports whether a call of tool with args is read-only. For
// aws___call_aws the CLI command decides; other tools are read-only when the
// upstream annotates them readOnlyHint: true. When need is set and the
// annotations are not cached yet, they are fetched with tools/list through
// one of the selected accounts; otherwise an unknown tool counts as a write.
func (s *Service) classify(ctx context.Context, selected []accounts.Account, tool string, args json.RawMessage, need bool) (bool, error) {
	if tool == CallAWSTool {
		return IsReadOnlyCommand(cliCommand(args)), nil
	}
	if t, ok := s.tools.get(tool); ok {
		return readOnlyHint(t), nil
	}
	if !need {
		return false, nil
	}
	tools, err := s.upstreamTools(ctx, selected)
	if err != nil {
		return false, fmt.Errorf("cannot tell whether %s is read-only: %w", tool, err)
	}
	t, ok := tools[tool]
	if !ok {
		return false, fmt.Errorf("the AWS MCP Server has no tool %q (list_tools shows the tools it offers)", tool)
	}
	return readOnlyHint(t), nil
}

func readOnlyHint(t mcp.Tool) bool {
	return t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint
}

// cliCommand returns the cli_command argument, or "" when it is missing, not
// a string, or ambiguous: a key that differs from "cli_command" only in case
// could be read instead by a case-insensitive decoder upstream.
func cliCommand(args json.RawMessage) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(args, &fields) != nil {
		return ""
	}
	for k := range fields {
		if k != "cli_command" && strings.EqualFold(k, "cli_command") {
			return ""
		}
	}
	var cmd string
	if json.Unmarshal(fields["cli_command"], &cmd) != nil {
		return ""
	}
	return cmd
}

// writeRefusal explains why a tool call was refused.
func writeRefusal(tool string, args json.RawMessage, why string) string {
	what := "tool " + tool
	if tool == CallAWSTool {
		what = fmt.Sprintf("command %q", cliCommand(args))
	}
	return fmt.Sprintf("%s is not read-only, and %s", what, why)
}

// upstreamTools returns the upstream's tools by name, listing them once per
// process through the first of candidates that answers.
func (s *Service) upstreamTools(ctx context.Context, candidates []accounts.Account) (map[string]mcp.Tool, error) {
	return s.tools.load(ctx, func(ctx context.Context) ([]mcp.Tool, error) {
		var lastErr error
		for i, a := range candidates {
			if i == 3 {
				break
			}
			tools, err := s.listTools(ctx, a)
			if err == nil {
				return tools, nil
			}
			lastErr = err
		}
		if lastErr == nil {
			lastErr = errors.New("no account to list the upstream tools with")
		}
		return nil, lastErr
	})
}

// listTools lists the upstream tools through one account.
func (s *Service) listTools(ctx context.Context, a accounts.Account) ([]mcp.Tool, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	target, _, err := s.credentials(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("account %s: %s", a.ID, describeError(ctx, err, time.Since(start)))
	}
	tools, err := s.pool.ListTools(upstream.WithTenant(ctx, ownerOf(ctx)), target)
	if err != nil {
		return nil, fmt.Errorf("account %s: %s", a.ID, describeError(ctx, err, time.Since(start)))
	}
	return tools, nil
}

// ListTools returns the upstream's tools as seen through one account: the
// given one, or the first configured. It refreshes the annotation cache.
func (s *Service) ListTools(ctx context.Context, accountID string) ([]mcp.Tool, accounts.Account, error) {
	var acct accounts.Account
	if accountID != "" {
		a, err := s.lookup(ctx, accountID)
		if err != nil {
			return nil, acct, err
		}
		acct = a
	} else {
		all, _, err := s.listAccounts(ctx)
		if err != nil {
			return nil, acct, err
		}
		if all, err = s.inScope(ctx, all); err != nil {
			return nil, acct, err
		}
		if len(all) == 0 {
			return nil, acct, errors.New("no accounts are configured")
		}
		acct = all[0]
	}
	tools, err := s.listTools(ctx, acct)
	if err != nil {
		return nil, acct, err
	}
	s.tools.set(tools)
	return tools, acct, nil
}

// ErrSecretRefused is returned when query_all refuses a read whose answer
// is a secret.
var ErrSecretRefused = errors.New("refused")

// SecretRead is an AWS CLI operation whose answer is, or carries, a secret.
type SecretRead struct {
	Service, Operation string
	// When, if set, is the option that makes the answer secret
	// ("--with-decryption"); Unless, if set, is the one that keeps the
	// secret out of it ("--hide-password").
	When, Unless string
}

// SecretReads are the read operations query_all refuses to fan out unless
// --allow-secret-fanout is set: one prompt-injected call would otherwise
// pull every account's secrets into the agent's context. query, in one
// explicit account, may still run them.
var SecretReads = []SecretRead{
	{Service: "secretsmanager", Operation: "get-secret-value"},
	{Service: "secretsmanager", Operation: "batch-get-secret-value"},
	{Service: "ssm", Operation: "get-parameter", When: "--with-decryption"},
	{Service: "ssm", Operation: "get-parameters", When: "--with-decryption"},
	{Service: "ssm", Operation: "get-parameters-by-path", When: "--with-decryption"},
	{Service: "ssm", Operation: "get-parameter-history", When: "--with-decryption"},
	{Service: "ecr", Operation: "get-login-password"},
	{Service: "ecr", Operation: "get-authorization-token"},
	{Service: "ecr-public", Operation: "get-login-password"},
	{Service: "ecr-public", Operation: "get-authorization-token"},
	{Service: "ec2", Operation: "get-password-data"},
	{Service: "sts", Operation: "get-session-token"},
	{Service: "sts", Operation: "get-federation-token"},
	{Service: "lambda", Operation: "get-function"},               // a code download URL
	{Service: "lambda", Operation: "get-function-configuration"}, // environment variables
	{Service: "codeartifact", Operation: "get-authorization-token"},
	{Service: "redshift", Operation: "get-cluster-credentials"},
	{Service: "redshift", Operation: "get-cluster-credentials-with-iam"},
	{Service: "redshift-serverless", Operation: "get-credentials"},
	{Service: "lightsail", Operation: "get-relational-database-master-user-password"},
	{Service: "lightsail", Operation: "get-instance-access-details"},
	{Service: "sso", Operation: "get-role-credentials"},
	{Service: "apigateway", Operation: "get-api-key", When: "--include-value"},
	{Service: "apigateway", Operation: "get-api-keys", When: "--include-values"},
	{Service: "glue", Operation: "get-connection", Unless: "--hide-password"},
	{Service: "glue", Operation: "get-connections", Unless: "--hide-password"},
}

// inputOptions pass request parameters as a document, so any parameter,
// such as WithDecryption, may be set through them.
var inputOptions = []string{"--cli-input-json", "--cli-input-yaml"}

// SecretOperation reports whether an AWS CLI command runs a secret-bearing
// read, and names it ("secretsmanager get-secret-value"). Words are
// matched case-insensitively and global options may stand anywhere. A
// command that cannot be parsed (shell syntax, unbalanced quotes) counts
// as one, since what it runs cannot be told.
func SecretOperation(command string) (string, bool) {
	words, ok := splitCommand(command)
	if !ok {
		return "a command that cannot be parsed", true
	}
	var positional []string
	options := map[string]bool{}
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		if !strings.HasPrefix(w, "-") {
			positional = append(positional, w)
			continue
		}
		name, _, hasValue := strings.Cut(w, "=")
		options[name] = true
		if globalOptionsWithValue[name] && !hasValue {
			i++
		}
	}
	for i := 0; i+1 < len(positional); i++ {
		for _, sr := range SecretReads {
			if positional[i] != sr.Service || positional[i+1] != sr.Operation {
				continue
			}
			input := slices.ContainsFunc(inputOptions, func(o string) bool { return options[o] })
			switch {
			case sr.When != "" && !(options[sr.When] && !options["--no-"+strings.TrimPrefix(sr.When, "--")]) && !input:
				continue
			case sr.Unless != "" && options[sr.Unless] && !input:
				continue
			}
			return sr.Service + " " + sr.Operation, true
		}
	}
	return "", false
}

// secretInArguments checks every argument an upstream decoder could take
// for cli_command (keys equal to it but for case), not only the exact one.
func secretInArguments(args json.RawMessage) (string, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(args, &fields) != nil {
		return "", false
	}
	for k, v := range fields {
		if !strings.EqualFold(k, "cli_command") {
			continue
		}
		var cmd string
		if json.Unmarshal(v, &cmd) != nil {
			return "a cli_command that is not a string", true
		}
		if op, secret := SecretOperation(cmd); secret {
			return op, true
		}
	}
	return "", false
}

// guardSecrets refuses a fan-out of a secret-bearing read unless
// --allow-secret-fanout is set.
func (s *Service) guardSecrets(tool string, args json.RawMessage) error {
	if s.cfg.AllowSecretFanout || tool != CallAWSTool {
		return nil
	}
	op, secret := secretInArguments(args)
	if !secret {
		return nil
	}
	return fmt.Errorf("%w: query_all does not fan out %s: its answer is a secret, and one call would pull every selected account's secrets into the conversation; use query for one account, or set --allow-secret-fanout (AWS_MCP_ALLOW_SECRET_FANOUT=true)", ErrSecretRefused, op)
}
