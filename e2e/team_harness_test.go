package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
	"github.com/centralops/aws-mcp-multi-account/internal/fakes3"
)

// teamAudience is the resource URI the team server is started with.
const teamAudience = "https://ops-mcp.example.com/mcp"

// teamServer is the binary serving --http, against the fakes.
type teamServer struct {
	URL    string // base URL, http://127.0.0.1:port
	cmd    *exec.Cmd
	stderr *syncBuffer
	// done is closed when the process has exited, with its error in err.
	done chan struct{}
	err  error
}

var servingLine = regexp.MustCompile(`serving MCP over Streamable HTTP.*addr"?[=:]"?(127\.0\.0\.1:\d+)`)

// startTeamServer runs serve --http 127.0.0.1:0 with args and waits until
// it listens.
func startTeamServer(t *testing.T, stack *fakeaws.Stack, env []string, args ...string) *teamServer {
	t.Helper()
	return startTeamServerAt(t, stack, "127.0.0.1:0", env, args...)
}

// startTeamServerAt is startTeamServer listening on addr.
func startTeamServerAt(t *testing.T, stack *fakeaws.Stack, addr string, env []string, args ...string) *teamServer {
	t.Helper()
	cmd := exec.Command(binaryPath, append([]string{"serve", "--http", addr}, args...)...)
	cmd.Env = append(append(os.Environ(), stack.Env()...), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &teamServer{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		r := bufio.NewReader(pipe)
		for {
			line, err := r.ReadString('\n')
			s.stderr.Write([]byte(line))
			if m := servingLine.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { s.err = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	select {
	case addr := <-found:
		s.URL = "http://" + addr
	case <-s.done:
		t.Fatalf("team server exited: %v\n%s", s.err, s.stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("team server did not listen within 15 s\n%s", s.stderr.String())
	}
	return s
}

// connect opens an MCP session over Streamable HTTP with a bearer token.
func (s *teamServer) connect(t *testing.T, token string) *client.Client {
	t.Helper()
	c, err := s.tryConnect(token)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, s.stderr.String())
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *teamServer) tryConnect(token string, clientOpts ...client.ClientOption) (*client.Client, error) {
	return s.tryConnectWith(token, mcp.LATEST_PROTOCOL_VERSION, clientOpts...)
}

// tryConnectWith opens a session that speaks protocol version.
func (s *teamServer) tryConnectWith(token, version string, clientOpts ...client.ClientOption) (*client.Client, error) {
	var opts []transport.StreamableHTTPCOption
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	tr, err := transport.NewStreamableHTTP(s.URL+"/mcp", opts...)
	if err != nil {
		return nil, err
	}
	c := client.NewClient(tr, clientOpts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a loaded 2-core machine can take seconds to start a session
	defer cancel()
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: version, ClientInfo: mcp.Implementation{Name: "team-e2e", Version: "1"},
	}}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// callTool calls a tool over a session.
func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// post sends a raw JSON-RPC request to /mcp with a token.
func (s *teamServer) post(t *testing.T, token, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// teamAccounts writes an accounts file: n accounts, the teams taking them
// in turn (acct-001 platform, acct-002 payments, ...).
func teamAccounts(t *testing.T, stack *fakeaws.Stack, teams ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("[")
	for i, a := range stack.Accounts {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%q,"name":%q,"tags":{"team":%q}}`, a.ID, a.Name, teams[i%len(teams)])
	}
	b.WriteString("]")
	path := filepath.Join(t.TempDir(), "accounts.json")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return "AWS_MCP_ACCOUNTS_FILE=" + path
}

// writePolicy writes an access policy file.
func writePolicy(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startIdP runs a fake OpenID provider for the test.
func startIdP(t *testing.T) *fakeoidc.Provider {
	t.Helper()
	idp := fakeoidc.Start()
	t.Cleanup(idp.Close)
	return idp
}

// groupPolicy writes an access policy granting group team-X the accounts
// tagged team X, for each team.
func groupPolicy(t *testing.T, teams []string) string {
	t.Helper()
	var policy strings.Builder
	policy.WriteString("rules:\n")
	for _, team := range teams {
		fmt.Fprintf(&policy, "  - match: {groups: team-%s}\n    tags: {team: %s}\n", team, team)
	}
	return writePolicy(t, policy.String())
}

// accountsByTeam is each team's accounts, as teamAccounts deals them.
func accountsByTeam(stack *fakeaws.Stack, teams []string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for i, a := range stack.Accounts {
		team := teams[i%len(teams)]
		if out[team] == nil {
			out[team] = map[string]bool{}
		}
		out[team][a.ID] = true
	}
	return out
}

// sharedResults starts a fake S3 bucket for the test and returns the
// environment of processes that keep their results there (with a 4 KiB
// budget, so that answers are left out and read back with get_result).
func sharedResults(t *testing.T, stack *fakeaws.Stack, bucket string) []string {
	t.Helper()
	b, err := fakes3.Start(stack.Keys, bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return []string{accountsEnv(stack), "AWS_ENDPOINT_URL_S3=" + b.URL, "AWS_MCP_RESULTS_BUCKET=" + bucket, "AWS_MCP_RESULT_BUDGET=4KiB"}
}
