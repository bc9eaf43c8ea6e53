package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/centralops/aws-mcp-multi-account/auth"
)

// Error is an upstream failure at one stage of a call.
type Error struct {
	// Stage is "initialize", "call" or "tools/list".
	Stage string
	Err   error
}

// Error names the stage and the cause.
func (e *Error) Error() string {
	if e.Stage == "call" {
		return e.Err.Error()
	}
	return "upstream " + e.Stage + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// RPCError is a JSON-RPC error object answered by the upstream.
type RPCError struct {
	Code    int
	Message string
}

// Error renders the code and message.
func (e *RPCError) Error() string {
	return fmt.Sprintf("upstream JSON-RPC error %d: %s", e.Code, e.Message)
}

// clarify replaces the MCP transport's layered wording with the cause.
func clarify(err error, st *callState, limit int64) error {
	if st.tooLarge.Load() || errors.Is(err, ErrResponseTooLarge) {
		return fmt.Errorf("%w (%d bytes; raise --max-response-bytes or narrow the query)", ErrResponseTooLarge, limit)
	}
	var status *StatusError
	if errors.As(err, &status) {
		return status
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out: %w", context.DeadlineExceeded)
	}
	if readErr := st.bodyError(); readErr != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("the answer stream broke off before the response (%v): %w", readErr, err)
	}
	if strings.Contains(err.Error(), "unexpected nil response") {
		return fmt.Errorf("the upstream ended the answer stream without a response: %w", err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("cancelled: %w", context.Canceled)
	}
	if errors.Is(err, transport.ErrSessionTerminated) {
		return err
	}
	var aerr *auth.AssumeRoleError
	if errors.As(err, &aerr) {
		return aerr
	}
	if errors.Is(err, transport.ErrLegacySSEServer) {
		return fmt.Errorf("the endpoint is not a Streamable HTTP MCP server (initialize was refused): %w", err)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		cause := uerr.Err.Error()
		if errors.Is(uerr.Err, io.EOF) || errors.Is(uerr.Err, io.ErrUnexpectedEOF) {
			cause = "the connection closed before an answer (EOF)"
		}
		return &transportError{msg: uerr.URL + ": " + cause, err: err}
	}
	return err
}

// transportError is a failed HTTP exchange, described without the MCP
// transport's layered wording but still wrapping the cause.
type transportError struct {
	msg string
	err error
}

// Error returns the cleaned description.
func (e *transportError) Error() string { return e.msg }

// Unwrap returns the transport error.
func (e *transportError) Unwrap() error { return e.err }
