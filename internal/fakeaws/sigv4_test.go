package fakeaws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedRequest returns a request to the fake AWS MCP Server signed by the
// SDK's signer, and the server-side view of it.
func signedRequest(t *testing.T, cred Credential, region string, body []byte, mutate func(*http.Request)) (*http.Request, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9999/mcp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "aws-mcp", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	return req, body
}

func TestVerifierAcceptsGoodAndRejectsBadSignatures(t *testing.T) {
	t.Parallel()
	keys := NewKeyring()
	temp := Credential{AccessKeyID: "ASIATEST000000000001", SecretAccessKey: "secret-1", SessionToken: "token-1", Account: "222222222222"}
	expired := Credential{AccessKeyID: "ASIATEST000000000002", SecretAccessKey: "secret-2", SessionToken: "token-2", Account: "222222222222", Expires: time.Now().Add(-time.Minute)}
	keys.Add(temp)
	keys.Add(expired)
	v := &Verifier{Keys: keys, Service: "aws-mcp", Region: "us-east-1"}
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)

	tests := []struct {
		name     string
		cred     Credential
		region   string
		mutate   func(*http.Request)
		body     []byte
		wantCode string
	}{
		{name: "valid", cred: temp, region: "us-east-1"},
		{name: "tampered signature", cred: temp, region: "us-east-1", wantCode: "InvalidSignatureException", mutate: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}},
		{name: "wrong region in the credential scope", cred: temp, region: "us-west-2", wantCode: "InvalidSignatureException"},
		{name: "missing session token", cred: temp, region: "us-east-1", wantCode: "UnrecognizedClientException", mutate: func(r *http.Request) {
			r.Header.Del("X-Amz-Security-Token")
		}},
		{name: "other session token", cred: temp, region: "us-east-1", wantCode: "UnrecognizedClientException", mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Security-Token", "token-2")
		}},
		{name: "body changed after signing", cred: temp, region: "us-east-1", body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`), wantCode: "InvalidSignatureException"},
		{name: "signed header changed", cred: temp, region: "us-east-1", wantCode: "InvalidSignatureException", mutate: func(r *http.Request) {
			r.Header.Set("Content-Type", "text/plain")
		}},
		{name: "unknown key", cred: Credential{AccessKeyID: "ASIAUNKNOWN", SecretAccessKey: "x", SessionToken: "y"}, region: "us-east-1", wantCode: "UnrecognizedClientException"},
		{name: "expired credentials", cred: expired, region: "us-east-1", wantCode: "ExpiredTokenException"},
		{name: "no authorization", cred: temp, region: "us-east-1", wantCode: "MissingAuthenticationTokenException", mutate: func(r *http.Request) {
			r.Header.Del("Authorization")
		}},
		{name: "stale date", cred: temp, region: "us-east-1", wantCode: "InvalidSignatureException", mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", time.Now().Add(-time.Hour).UTC().Format("20060102T150405Z"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, signedBody := signedRequest(t, tt.cred, tt.region, body, tt.mutate)
			if tt.body != nil {
				signedBody = tt.body
			}
			got, apiErr := v.Verify(req, signedBody)
			if tt.wantCode == "" {
				if apiErr != nil {
					t.Fatalf("valid request rejected: %v", apiErr)
				}
				if got.Account != "222222222222" {
					t.Errorf("signer account %q", got.Account)
				}
				return
			}
			if apiErr == nil || apiErr.Code != tt.wantCode || apiErr.Status < 400 {
				t.Errorf("got %v, want %s", apiErr, tt.wantCode)
			}
		})
	}
}

func TestVerifierRequiresTheConfiguredService(t *testing.T) {
	t.Parallel()
	keys := NewKeyring()
	cred := Credential{AccessKeyID: "AKIATEST", SecretAccessKey: "s"}
	keys.Add(cred)
	req, body := signedRequest(t, cred, "us-east-1", []byte("{}"), nil)
	v := &Verifier{Keys: keys, Service: "sts"}
	if _, err := v.Verify(req, body); err == nil || err.Code != "InvalidSignatureException" {
		t.Errorf("a request signed for aws-mcp was accepted by an sts verifier: %v", err)
	}
}
