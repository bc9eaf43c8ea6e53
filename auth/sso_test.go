package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"testing"

	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
)

// TestSessionEndClassification: the SDK's typed errors of SSO OIDC and
// the portal are the session's end (a LoginError, how it ended said in a
// few words); the network and the services' own trouble are not.
func TestSessionEndClassification(t *testing.T) {
	op := func(service, name string, err error) error {
		return fmt.Errorf("refresh cached SSO token failed, unable to refresh SSO token, %w",
			&smithy.OperationError{ServiceID: service, OperationName: name, Err: err})
	}
	cases := []struct {
		name      string
		err       error
		ended     bool
		transient bool
		says      string
	}{
		{"refresh token revoked", op("SSO OIDC", "CreateToken", &oidctypes.InvalidGrantException{}), true, false, "refused the refresh: InvalidGrantException"},
		{"token expired", op("SSO OIDC", "CreateToken", &oidctypes.ExpiredTokenException{}), true, false, "ExpiredTokenException"},
		{"client registration expired", op("SSO OIDC", "CreateToken", &oidctypes.InvalidClientException{}), true, false, "InvalidClientException"},
		{"client not allowed", op("SSO OIDC", "CreateToken", &oidctypes.UnauthorizedClientException{}), true, false, "UnauthorizedClientException"},
		{"portal rejects the token", op("SSO", "GetRoleCredentials", &ssotypes.UnauthorizedException{}), true, false, "the access portal rejected its token"},
		{"no cache file", fmt.Errorf("failed to read cached SSO token file, %w", fs.ErrNotExist), false, false, "no token cached"},
		{"nothing to refresh with", errors.New("cached SSO token is expired, or not present, and cannot be refreshed"), false, false, "could not be read or refreshed"},
		{"SSO OIDC down", op("SSO OIDC", "CreateToken", &oidctypes.InternalServerException{}), false, true, ""},
		{"network", op("SSO OIDC", "CreateToken", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), false, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isTokenFailure(tc.err); got != tc.ended {
				t.Errorf("isTokenFailure = %v, want %v", got, tc.ended)
			}
			if got := isTransient(tc.err); got != tc.transient {
				t.Errorf("isTransient = %v, want %v", got, tc.transient)
			}
			if tc.transient {
				return
			}
			msg := (&LoginError{Session: "corp", Err: tc.err}).Error()
			if !strings.Contains(msg, tc.says) || !strings.Contains(msg, "aws sso login --sso-session corp") {
				t.Errorf("LoginError says %q, want %q and the fix", msg, tc.says)
			}
			if got := Describe(fmt.Errorf("credentials: %w", &LoginError{Session: "corp", Err: tc.err})); got != msg {
				t.Errorf("Describe = %q, want the LoginError's whole text", got)
			}
		})
	}
}
