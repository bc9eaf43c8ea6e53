package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

// ModeHTTP calls the query tool of the built binary serving a team
// (serve --http with OpenID sign-in) over MCP Streamable HTTP on loopback,
// each request carrying a bearer token the server verifies.
const ModeHTTP OverheadMode = "http"

// HTTPAudience is the resource URI the bench's team server is started with.
const HTTPAudience = "https://ops-mcp.example.com/mcp"

// HTTPServer is the built binary serving --http, with an OpenID provider
// and a signed-in client.
type HTTPServer struct {
	Client *client.Client
	URL    string
	cmd    *exec.Cmd
	idp    *fakeoidc.Provider
}

var servingAddr = regexp.MustCompile(`serving MCP over Streamable HTTP.*addr=(127\.0\.0\.1:\d+)`)

// StartHTTP runs binary with serve --http on a loopback port, a fake
// OpenID provider in this process, and connects a signed-in client.
func StartHTTP(ctx context.Context, binary string, env []string) (*HTTPServer, error) {
	idp := fakeoidc.Start()
	s := &HTTPServer{idp: idp}
	s.cmd = exec.Command(binary, "serve", "--http", "127.0.0.1:0", "--oidc-issuer", idp.Issuer, "--oidc-audience", HTTPAudience)
	s.cmd.Env = append(os.Environ(), env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		idp.Close()
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		idp.Close()
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		s.URL = "http://" + addr + "/mcp"
	case <-time.After(15 * time.Second):
		s.Close()
		return nil, fmt.Errorf("the team server did not listen within 15 s")
	}
	token := idp.Token(HTTPAudience, fakeoidc.Claims{"sub": "bench", "email": "bench@example.com"})
	tr, err := transport.NewStreamableHTTP(s.URL, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Client = client.NewClient(tr)
	if err := s.Client.Start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := s.Client.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION, ClientInfo: mcp.Implementation{Name: "bench", Version: "1"},
	}}); err != nil {
		s.Close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	return s, nil
}

// Call calls one of the server's tools and fails on a tool error.
func (s *HTTPServer) Call(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	return callTool(ctx, s.Client, name, args)
}

// Close stops the server (SIGTERM, then a kill after 5 s) and the provider.
func (s *HTTPServer) Close() error {
	if s.Client != nil {
		s.Client.Close()
	}
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	s.idp.Close()
	return nil
}
