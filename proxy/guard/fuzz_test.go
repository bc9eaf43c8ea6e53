package guard

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzIsReadOnlyCommand checks the classifier never panics and never calls
// a command with shell control characters outside quotes read-only.
func FuzzIsReadOnlyCommand(f *testing.F) {
	for _, c := range []string{"aws s3 ls", "aws ec2 describe-instances --query 'a | b'", "aws s3 ls; rm -rf /", `aws "ec2" describe-vpcs`, "aws --region x s3 ls"} {
		f.Add(c)
	}
	f.Add("aws ssm get-parameter --name x --with-decryption")
	f.Add("aws --region eu-west-1 secretsmanager get-secret-value")
	f.Fuzz(func(t *testing.T, cmd string) {
		op, secret := SecretOperation(cmd)
		if !IsReadOnlyCommand(cmd) {
			return
		}
		words, ok := splitCommand(cmd)
		if !ok || len(words) < 3 || words[0] != "aws" {
			t.Fatalf("%q is read-only but does not parse as an aws command", cmd)
		}
		// A read-only command running a listed operation that is secret
		// whatever its options must be caught by the secret guard.
		service, operation := "", ""
		for _, w := range words[1:] {
			if strings.HasPrefix(w, "-") {
				break
			}
			if service == "" {
				service = strings.ToLower(w)
			} else {
				operation = strings.ToLower(w)
				break
			}
		}
		for _, sr := range SecretReads {
			if sr.Service == service && sr.Operation == operation && sr.When == "" && sr.Unless == "" && !secret {
				t.Fatalf("%q runs %s %s, a secret-bearing read, but SecretOperation says %q, false", cmd, service, operation, op)
			}
		}
	})
}

// FuzzCLICommand: the reader never panics; what it returns without error
// is the one string under a cli_command key, and the two guards agree with
// it: a read-only command is refused by neither only when it is no secret.
func FuzzCLICommand(f *testing.F) {
	f.Add([]byte(`{"cli_command":"aws s3 ls"}`))
	f.Add([]byte(`{"cli_command":"aws s3 ls","CLI_command":"aws ec2 terminate-instances"}`))
	f.Add([]byte(`{"Cli_Command":5}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cmd, err := CLICommand(raw)
		if err != nil {
			if ReadOnlyArguments(raw) {
				t.Fatalf("%s: ambiguous, yet read-only", raw)
			}
			if _, secret := SecretInArguments(raw); !secret {
				t.Fatalf("%s: ambiguous, yet no secret", raw)
			}
			return
		}
		var fields map[string]json.RawMessage
		if cmd != "" && (json.Unmarshal(raw, &fields) != nil || !strings.Contains(string(raw), "")) {
			t.Fatalf("%s: a command from no object", raw)
		}
		if ReadOnlyArguments(raw) != IsReadOnlyCommand(cmd) {
			t.Fatalf("%s: the write guard read another command than %q", raw, cmd)
		}
		op, secret := SecretInArguments(raw)
		if op2, secret2 := SecretOperation(cmd); secret != secret2 || op != op2 {
			t.Fatalf("%s: the secret guard read another command than %q", raw, cmd)
		}
	})
}
