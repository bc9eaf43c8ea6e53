package guard

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
)

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

// SecretInArguments reports whether the cli_command of args runs a
// secret-bearing read, and names it; an ambiguous one counts as one.
func SecretInArguments(args json.RawMessage) (string, bool) {
	cmd, err := CLICommand(args)
	if errors.Is(err, ErrAmbiguousCommand) {
		return "a cli_command given twice or not as a string", true
	}
	return SecretOperation(cmd)
}

// SecretActions are the IAM actions of SecretReads, sorted, each once.
func SecretActions() []string {
	var out []string
	for _, sr := range SecretReads {
		if sr.Action != "" && !slices.Contains(out, sr.Action) {
			out = append(out, sr.Action)
		}
	}
	sort.Strings(out)
	return out
}
