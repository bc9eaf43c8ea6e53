package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// The sentinel errors of proxy, classified with errors.Is. Their words
// are the user's; a front door may add which flag lifts a refusal.
var (
	// ErrUnknownTool is returned by Invoke for a name that is not a proxy tool.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrToolNotListed is returned, before any call, for a tool the AWS MCP
	// Server does not list.
	ErrToolNotListed = errors.New("not offered by the AWS MCP Server")
	// ErrNoAccess is returned when a caller's scope reaches no account at all.
	ErrNoAccess = errors.New("no accounts: the access policy grants this caller none")
	// ErrWriteRefused is returned when a tool that is not read-only is refused
	// by the write guard or by read-only mode.
	ErrWriteRefused = errors.New("write refused")
	// ErrSecretRefused is returned when query_all refuses a read whose answer
	// is a secret.
	ErrSecretRefused = errors.New("secret read refused")
	// ErrChangesRefused is returned when a change may not run where it would.
	ErrChangesRefused = errors.New("change refused")
	// ErrTooManyFanouts is returned when a caller's fan-out could not start
	// before its reply was due: the caller already ran as many fan-outs as
	// CallerFanouts allows, for all that time.
	ErrTooManyFanouts = errors.New("too many fan-outs")
	// ErrNoSessionPolicy is a per-account failure: the account signs with its
	// own credentials (a --profiles account), which cannot carry the session
	// policy that would bound the call.
	ErrNoSessionPolicy = errors.New("cannot bound this call")
	// ErrNoStore is returned by GetResult when answers are not kept.
	ErrNoStore = errors.New("answers are not kept here")
	// errTaskExpired is a script's task that the upstream no longer knows.
	errTaskExpired = errors.New("task expired")
	// errTaskUnreadable is a get_tasks answer the proxy cannot read.
	errTaskUnreadable = errors.New("the task's answer was unreadable")
)

// Error codes of a failed Result, for machines.
const (
	CodeAccessDenied   = "access_denied"
	CodeCredentials    = "credentials"
	CodeTimeout        = "timeout"
	CodeCancelled      = "cancelled"
	CodeUpstream       = "upstream"
	CodeToolError      = "tool_error"
	CodeResponseTooBig = "response_too_large"
	// CodeNoSessionPolicy: the account's own credentials cannot carry the
	// session policy the call needs (a --profiles account).
	CodeNoSessionPolicy = "no_session_policy"
	// CodeTaskExpired: the upstream forgot a script's task before it ended.
	CodeTaskExpired = "task_expired"
)

// CredentialsError is a failure to get an account's credentials other than
// AssumeRole (a profile that cannot be loaded, an expired SSO session).
type CredentialsError struct {
	AccountID string
	Err       error
}

// Error names the account and the cause.
func (e *CredentialsError) Error() string {
	return fmt.Sprintf("credentials of account %s: %s", e.AccountID, auth.Describe(e.Err))
}

// Unwrap returns the cause.
func (e *CredentialsError) Unwrap() error { return e.Err }

// toolOutcome reports whether an upstream result is a tool error, and its
// text. Only isError is decoded unless it is set: answers can be large.
func toolOutcome(data json.RawMessage) (string, bool) {
	var r struct {
		IsError bool `json:"isError"`
	}
	if json.Unmarshal(data, &r) != nil || !r.IsError {
		return "", false
	}
	if text := results.Text(data); text != string(data) {
		return text, true
	}
	return "the upstream tool reported an error without text", true
}

// classifyError returns the ErrorCode of a failed call.
func classifyError(ctx context.Context, err error) string {
	var assume *auth.AssumeRoleError
	var credErr *CredentialsError
	switch {
	case errors.As(err, &assume):
		if assume.Code() == "AccessDenied" {
			return CodeAccessDenied
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return CodeTimeout
		}
		return CodeCredentials
	case errors.As(err, &credErr):
		return CodeCredentials
	case errors.Is(err, ErrNoSessionPolicy):
		return CodeNoSessionPolicy
	case errors.Is(err, errTaskExpired):
		return CodeTaskExpired
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case ctx.Err() != nil, errors.Is(err, context.Canceled):
		return CodeCancelled
	case errors.Is(err, upstream.ErrResponseTooLarge):
		return CodeResponseTooBig
	}
	return CodeUpstream
}

// describeError renders a failed call's cause for the caller; elapsed is
// how long the call ran.
func (s *Service) describeError(ctx context.Context, err error, elapsed time.Duration) string {
	var assume *auth.AssumeRoleError
	if errors.As(err, &assume) {
		msg := assume.Error()
		if assume.Code() == "AccessDenied" {
			msg += " (check the role exists and its trust policy allows the central principal, and the ExternalId if one is required)"
		}
		return msg
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s (per-account timeout or the caller's deadline; raise %s if the account is just slow)", elapsed.Round(100*time.Millisecond), s.cfg.setting("timeout"))
	case ctx.Err() != nil:
		return "cancelled before the account answered"
	}
	return err.Error()
}
