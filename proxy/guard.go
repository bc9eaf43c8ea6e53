package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
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

// ErrSecretRefused is returned when query_all refuses a read whose answer
// is a secret.
var ErrSecretRefused = errors.New("refused")

// SecretRead is an AWS operation whose answer is, or carries, a secret.
type SecretRead struct {
	// Service and Operation name it as the AWS CLI does.
	Service, Operation string
	// When, if set, is the option that makes the answer secret
	// ("--with-decryption"); Unless, if set, is the one that keeps the
	// secret out of it ("--hide-password").
	When, Unless string
	// Action is the IAM action that the fan-out session policy denies
	// for it ("" where no IAM action separates the secret from the read).
	Action string
}

// SecretReads are the reads fan-outs do not run unless
// --allow-secret-fanout is set: one prompt-injected call would otherwise
// pull every account's secrets into the agent's context. For
// aws___call_aws the CLI command is checked before the call; for every
// IAM-bounded tool (aws___run_script too) their actions are denied by the
// fan-out session's inline policy (SecretDenyPolicy), so IAM refuses them
// in each account. query, in one explicit account, may still run them.
var SecretReads = []SecretRead{
	{Service: "secretsmanager", Operation: "get-secret-value", Action: "secretsmanager:GetSecretValue"},
	{Service: "secretsmanager", Operation: "batch-get-secret-value", Action: "secretsmanager:BatchGetSecretValue"},
	// A SecureString's value is decrypted with KMS: denying kms:Decrypt
	// keeps ssm:GetParameter* (and every other envelope) encrypted.
	{Service: "ssm", Operation: "get-parameter", When: "--with-decryption", Action: "kms:Decrypt"},
	{Service: "ssm", Operation: "get-parameters", When: "--with-decryption", Action: "kms:Decrypt"},
	{Service: "ssm", Operation: "get-parameters-by-path", When: "--with-decryption", Action: "kms:Decrypt"},
	{Service: "ssm", Operation: "get-parameter-history", When: "--with-decryption", Action: "kms:Decrypt"},
	{Service: "ecr", Operation: "get-login-password", Action: "ecr:GetAuthorizationToken"},
	{Service: "ecr", Operation: "get-authorization-token", Action: "ecr:GetAuthorizationToken"},
	{Service: "ecr-public", Operation: "get-login-password", Action: "ecr-public:GetAuthorizationToken"},
	{Service: "ecr-public", Operation: "get-authorization-token", Action: "ecr-public:GetAuthorizationToken"},
	{Service: "ec2", Operation: "get-password-data", Action: "ec2:GetPasswordData"},
	{Service: "sts", Operation: "get-session-token", Action: "sts:GetSessionToken"},
	{Service: "sts", Operation: "get-federation-token", Action: "sts:GetFederationToken"},
	{Service: "lambda", Operation: "get-function", Action: "lambda:GetFunction"},                            // a code download URL
	{Service: "lambda", Operation: "get-function-configuration", Action: "lambda:GetFunctionConfiguration"}, // environment variables
	{Service: "codeartifact", Operation: "get-authorization-token", Action: "codeartifact:GetAuthorizationToken"},
	{Service: "redshift", Operation: "get-cluster-credentials", Action: "redshift:GetClusterCredentials*"},
	{Service: "redshift", Operation: "get-cluster-credentials-with-iam", Action: "redshift:GetClusterCredentials*"},
	{Service: "redshift-serverless", Operation: "get-credentials", Action: "redshift-serverless:GetCredentials"},
	{Service: "lightsail", Operation: "get-relational-database-master-user-password", Action: "lightsail:GetRelationalDatabaseMasterUserPassword"},
	{Service: "lightsail", Operation: "get-instance-access-details", Action: "lightsail:GetInstanceAccessDetails"},
	{Service: "sso", Operation: "get-role-credentials", Action: "sso:GetRoleCredentials"},
	// API Gateway authorizes GET on the key resource, with or without its
	// value; Glue's GetConnection returns the password unless asked not
	// to. IAM cannot tell these apart from the plain read: the CLI check
	// covers aws___call_aws, and Glue's reads are denied whole.
	{Service: "apigateway", Operation: "get-api-key", When: "--include-value"},
	{Service: "apigateway", Operation: "get-api-keys", When: "--include-values"},
	{Service: "glue", Operation: "get-connection", Unless: "--hide-password", Action: "glue:GetConnection"},
	{Service: "glue", Operation: "get-connections", Unless: "--hide-password", Action: "glue:GetConnections"},
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
