package fakeaws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// post sends one signed JSON-RPC message to the fake AWS MCP Server.
func post(t *testing.T, stack *Stack, cred Credential, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, stack.MCPURL, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "aws-mcp", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

// TestMCPServerEnforcesTheTransport proves the fake refuses what a strict
// Streamable HTTP server refuses, so a client passing it follows the spec.
func TestMCPServerEnforcesTheTransport(t *testing.T) {
	t.Parallel()
	stack := Start(Options{Accounts: []Account{{ID: "222222222222", Name: "a"}}})
	defer stack.Close()
	cred := Credential{AccessKeyID: "ASIAFAKETRANSPORT001", SecretAccessKey: "s", SessionToken: "t", Account: "222222222222"}
	stack.Keys.Add(cred)
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

	if resp, _ := post(t, stack, cred, initialize, map[string]string{"Accept": "application/json"}); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept without text/event-stream: %d, want 406", resp.StatusCode)
	}
	if resp, _ := post(t, stack, cred, initialize, map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("Content-Type text/plain: %d, want 415", resp.StatusCode)
	}
	resp, body := post(t, stack, cred, initialize, nil)
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" || !strings.Contains(body, `"protocolVersion":"2025-06-18"`) {
		t.Fatalf("initialize: %d %s %q", resp.StatusCode, body, session)
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if resp, body := post(t, stack, cred, list, map[string]string{"Mcp-Session-Id": session}); resp.StatusCode != 400 || !strings.Contains(body, "notifications/initialized") {
		t.Errorf("tools/list before notifications/initialized: %d %s", resp.StatusCode, body)
	}
	if resp, _ := post(t, stack, cred, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, map[string]string{"Mcp-Session-Id": session}); resp.StatusCode != http.StatusAccepted {
		t.Errorf("notifications/initialized: %d, want 202", resp.StatusCode)
	}
	if resp, _ := post(t, stack, cred, list, map[string]string{"Mcp-Session-Id": session, "Mcp-Protocol-Version": "1999-01-01"}); resp.StatusCode != 400 {
		t.Errorf("unsupported MCP-Protocol-Version: %d, want 400", resp.StatusCode)
	}
	if resp, _ := post(t, stack, cred, list, map[string]string{"Mcp-Session-Id": "nope"}); resp.StatusCode != 404 {
		t.Errorf("unknown session: %d, want 404", resp.StatusCode)
	}
	if resp, _ := post(t, stack, cred, list, nil); resp.StatusCode != 400 {
		t.Errorf("no session header: %d, want 400", resp.StatusCode)
	}
	resp, body = post(t, stack, cred, list, map[string]string{"Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-06-18"})
	var out struct {
		Result struct{ Tools []struct{ Name string } }
	}
	if json.Unmarshal([]byte(body), &out); resp.StatusCode != 200 || len(out.Result.Tools) == 0 {
		t.Errorf("tools/list: %d %s", resp.StatusCode, body)
	}
	other := Credential{AccessKeyID: "ASIAFAKETRANSPORT002", SecretAccessKey: "s2", SessionToken: "t2", Account: "333333333333"}
	stack.Keys.Add(other)
	if resp, _ := post(t, stack, other, list, map[string]string{"Mcp-Session-Id": session}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another account's session: %d, want 403", resp.StatusCode)
	}
}
