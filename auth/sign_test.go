package auth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

func TestSigningRegion(t *testing.T) {
	t.Parallel()
	tests := []struct{ endpoint, fallback, want string }{
		{"https://aws-mcp.us-east-1.api.aws/mcp", "eu-west-1", "us-east-1"},
		{"https://aws-mcp.eu-central-1.api.aws/mcp", "us-east-1", "eu-central-1"},
		{"https://aws-mcp.us-east-1.api.aws:443/mcp", "x", "us-east-1"},
		{"http://127.0.0.1:8080/mcp", "us-west-2", "us-west-2"},
		{"https://mcp.example.com/mcp", "ap-south-1", "ap-south-1"},
		{"https://aws-mcp.us-east-1.evil.example/mcp", "us-west-2", "us-west-2"},
		{"::not a url", "us-east-1", "us-east-1"},
	}
	for _, tt := range tests {
		if got := SigningRegion(tt.endpoint, tt.fallback); got != tt.want {
			t.Errorf("SigningRegion(%q, %q) = %q, want %q", tt.endpoint, tt.fallback, got, tt.want)
		}
	}
}

// verifyingServer answers 200 to requests the fake verifier accepts and
// echoes the verdict otherwise.
func verifyingServer(t *testing.T, keys *fakeaws.Keyring, region string, before func(w http.ResponseWriter) bool) *httptest.Server {
	t.Helper()
	v := &fakeaws.Verifier{Keys: keys, Service: ServiceName, Region: region}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if before != nil && before(w) {
			return
		}
		if _, err := v.Verify(r, body); err != nil {
			w.Header().Set("X-Amzn-Errortype", err.Code)
			http.Error(w, err.Message, err.Status)
			return
		}
		io.WriteString(w, "ok:"+string(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSigningTransportIsAcceptedBySigV4Verifier(t *testing.T) {
	t.Parallel()
	keys := fakeaws.NewKeyring()
	cred := fakeaws.Credential{AccessKeyID: "ASIASIGNTEST0001", SecretAccessKey: "s3cret", SessionToken: "tok", Account: "222222222222"}
	keys.Add(cred)
	srv := verifyingServer(t, keys, "us-east-1", nil)

	for _, region := range []string{"us-east-1", "us-west-2"} {
		tr := &SigningTransport{
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}, nil
			}),
			Signer: v4.NewSigner(), Service: ServiceName, Region: region,
		}
		client := &http.Client{Transport: tr}
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":"b c"}}}`
		resp, err := client.Post(srv.URL+"/mcp", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantOK := region == "us-east-1"
		if (resp.StatusCode == 200) != wantOK {
			t.Errorf("signing region %s: status %d %s", region, resp.StatusCode, got)
		}
		if wantOK && string(got) != "ok:"+body {
			t.Errorf("body arrived as %q", got)
		}
	}
}

func TestSigningTransportRefreshesOnExpiredToken(t *testing.T) {
	t.Parallel()
	keys := fakeaws.NewKeyring()
	var issued atomic.Int32
	provider := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		n := issued.Add(1)
		c := fakeaws.Credential{AccessKeyID: "ASIAREFRESH000" + string(rune('0'+n)), SecretAccessKey: "s", SessionToken: "t", Account: "222222222222"}
		if n == 1 {
			c.Expires = time.Now().Add(-time.Second) // the upstream sees it expired
		}
		keys.Add(c)
		return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
	}))
	srv := verifyingServer(t, keys, "us-east-1", nil)
	client := &http.Client{Transport: &SigningTransport{Credentials: provider, Signer: v4.NewSigner(), Service: ServiceName, Region: "us-east-1"}}
	resp, err := client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || issued.Load() != 2 {
		t.Errorf("status %d after %d credential fetches, want 200 after 2 (one refresh)", resp.StatusCode, issued.Load())
	}
}

func TestSigningTransportReportsCredentialErrors(t *testing.T) {
	t.Parallel()
	tr := &SigningTransport{
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, io.ErrUnexpectedEOF
		}),
		Signer: v4.NewSigner(), Service: ServiceName, Region: "us-east-1",
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", strings.NewReader("{}"))
	_, err := tr.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "credentials for signing") {
		t.Errorf("err = %v", err)
	}
}
