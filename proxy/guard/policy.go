package guard

import (
	"encoding/json"
	"sync"
)

type policyStatement struct {
	Sid      string `json:"Sid"`
	Effect   string `json:"Effect"`
	Action   any    `json:"Action"`
	Resource string `json:"Resource"`
}

func policyDocument(statements ...policyStatement) string {
	out, err := json.Marshal(struct {
		Version   string            `json:"Version"`
		Statement []policyStatement `json:"Statement"`
	}{"2012-10-17", statements})
	if err != nil {
		panic(err) // static input
	}
	return string(out)
}

// denySecrets is the statement that denies every secret-bearing read.
func denySecrets() policyStatement {
	return policyStatement{Sid: "NoSecretReadsInFanOut", Effect: "Deny", Action: SecretActions(), Resource: "*"}
}

// SecretDenyPolicy is the inline session policy of a read-only fan-out
// session: it only denies the secret-bearing reads, the managed read-only
// policy beside it allows the rest. Session policies combine as IAM
// evaluates policies: an action must be allowed by one of them and denied
// by none (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
// The document is built once: every account's cached credentials keep
// the string they were assumed with, and 10,000 accounts would otherwise
// keep 10,000 copies of it.
func SecretDenyPolicy() string { return secretDenyPolicy() }

var secretDenyPolicy = sync.OnceValue(func() string { return policyDocument(denySecrets()) })

// AllButSecretsPolicy is the inline session policy of a write fan-out
// session (--allow-write-fanout): it allows what the role allows and
// denies the secret-bearing reads. Alone, a deny-only session policy would
// allow nothing.
func AllButSecretsPolicy() string { return allButSecretsPolicy() }

var allButSecretsPolicy = sync.OnceValue(func() string {
	return policyDocument(
		policyStatement{Sid: "RolePermissions", Effect: "Allow", Action: "*", Resource: "*"},
		denySecrets())
})

// SecretAllowPolicy is the inline session policy of a read-only fan-out
// session with --allow-secret-fanout: the managed read-only policy beside
// it allows the reads, and this allows the secret-bearing ones too
// (ReadOnlyAccess itself does not grant secretsmanager:GetSecretValue).
func SecretAllowPolicy() string { return secretAllowPolicy() }

var secretAllowPolicy = sync.OnceValue(func() string {
	return policyDocument(policyStatement{Sid: "SecretReadsInFanOut", Effect: "Allow", Action: SecretActions(), Resource: "*"})
})
