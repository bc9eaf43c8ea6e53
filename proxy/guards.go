package proxy

import (
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
)

// The guards' pure classifiers live in proxy/guard; what reads the
// configuration (when they apply, what a refusal says) is here.

func readOnlyHint(t mcp.Tool) bool {
	return t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint
}

// writeRefusal explains why a tool call was refused.
func writeRefusal(tool string, args json.RawMessage, why string) string {
	what := "tool " + tool
	if tool == CallAWSTool {
		cmd, err := guard.CLICommand(args)
		if err != nil {
			return fmt.Sprintf("the arguments give cli_command more than once (keys that differ only in case) or not as a string, so it cannot be classified (%v), and %s", err, why)
		}
		what = fmt.Sprintf("command %q", cmd)
	}
	return fmt.Sprintf("%s is not read-only, and %s", what, why)
}

// guardSecrets refuses a fan-out of a secret-bearing read unless
// AllowSecretFanout is set.
func (s *Service) guardSecrets(tool string, args json.RawMessage) error {
	if s.cfg.AllowSecretFanout || tool != CallAWSTool {
		return nil
	}
	op, secret := guard.SecretInArguments(args)
	if !secret {
		return nil
	}
	return fmt.Errorf("%w: query_all does not fan out %s: its answer is a secret, and one call would pull every selected account's secrets into the conversation; use query for one account, or set %s", ErrSecretRefused, op, s.cfg.setting("allow-secret-fanout"))
}
