package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// StdioServer is a running stdio server binary driven by the mcp-go client,
// as an MCP host would drive it.
type StdioServer struct {
	Client *client.Client
	// Started is when the process was started (just before exec).
	Started time.Time
	cmd     *exec.Cmd
	stdin   io.WriteCloser
}

// StartStdio runs the binary with env added to this process's environment
// and completes the MCP handshake (initialize).
func StartStdio(ctx context.Context, binary string, env []string, args ...string) (*StdioServer, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &StdioServer{cmd: cmd, stdin: stdin}
	s.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	s.Client = client.NewClient(transport.NewIO(stdout, stdin, io.NopCloser(strings.NewReader(""))))
	if err := s.Client.Start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := s.Client.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
		ClientInfo:      mcp.Implementation{Name: "bench", Version: "1"},
	}}); err != nil {
		s.Close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	return s, nil
}

// Pid returns the server's process id.
func (s *StdioServer) Pid() int { return s.cmd.Process.Pid }

// Call calls one of the server's tools and fails on a tool error.
func (s *StdioServer) Call(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	return callTool(ctx, s.Client, name, args)
}

// callTool calls one tool through an MCP client; a tool error is an error
// too, returned with the result that carries it.
func callTool(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if res.IsError {
		return res, fmt.Errorf("%s: tool error %v", name, res.Content)
	}
	return res, nil
}

// Close closes stdin and waits for the server to exit (killing it after 5 s).
func (s *StdioServer) Close() error {
	s.Client.Close()
	return closeAndWait(s.stdin, s.cmd)
}
