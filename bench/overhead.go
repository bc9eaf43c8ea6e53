package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// OverheadMode is a way of sending one tools/call to one account.
type OverheadMode string

// Modes of NewQueryCaller.
const (
	// ModeService calls Service.Query in this process: what the proxy core
	// does per call (lookup, guard, credentials, session, signing, HTTP).
	ModeService OverheadMode = "service"
	// ModeDirect sends the same signed tools/call straight to the upstream
	// over an already initialized session, with no proxy code: the floor
	// any client pays (signing, loopback HTTP, the fake's own work).
	ModeDirect OverheadMode = "direct"
	// ModeStdio calls the query tool of the built stdio server over stdio,
	// as an MCP host does (adds JSON-RPC over pipes and a process hop).
	ModeStdio OverheadMode = "stdio"
)

// toolServer is a built binary serving the tools to a client of the bench.
type toolServer interface {
	Call(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error)
	Close() error
}

// startToolServer starts the binary as a stdio or a team (HTTP) server.
func startToolServer(mode OverheadMode, binary string, env []string) (toolServer, error) {
	if mode == ModeHTTP {
		return StartHTTP(context.Background(), binary, env)
	}
	return StartStdio(context.Background(), binary, env)
}

// QueryCaller sends one query; the first call is cold.
type QueryCaller func(ctx context.Context) error

// NewQueryCaller returns a caller of CallerIdentity in the fakes' first
// account, and a function that releases it. ModeStdio needs binary. The
// calls go to one account back to back, beyond the AWS MCP Server's 3
// requests a second, so the servers run unpaced (AWS_MCP_ACCOUNT_RPS=0):
// this measures the proxy's own overhead, not the quota's.
func NewQueryCaller(fakes Fakes, mode OverheadMode, binary string) (QueryCaller, func(), error) {
	acct := fakes.Accounts()[0]
	if mode == ModeHTTP || mode == ModeStdio {
		srv, err := startToolServer(mode, binary, append(fakes.URLs().Env, accountsEnv(fakes.Accounts()), "AWS_MCP_ACCOUNT_RPS=0"))
		if err != nil {
			return nil, nil, err
		}
		var args map[string]any
		json.Unmarshal(CallerIdentity.Arguments, &args)
		call := func(ctx context.Context) error {
			_, err := srv.Call(ctx, "query", map[string]any{"account_id": acct.ID, "tool_name": CallerIdentity.ToolName, "arguments": args})
			return err
		}
		return call, func() { srv.Close() }, nil
	}
	core, err := NewCore(fakes.URLs(), CoreOptions{Concurrency: 1, Accounts: fakes.Accounts()})
	if err != nil {
		return nil, nil, err
	}
	switch mode {
	case ModeService:
		call := func(ctx context.Context) error {
			res, err := core.Service.Query(ctx, proxy.QueryRequest{AccountID: acct.ID, ToolName: CallerIdentity.ToolName, Arguments: CallerIdentity.Arguments})
			if err == nil && res.Status != proxy.StatusSuccess {
				err = fmt.Errorf("query: %s", res.Error)
			}
			return err
		}
		return call, core.Close, nil
	case ModeDirect:
		d := newDirect(fakes.URLs().MCP, upstream.NewTransport(1), core.Store.ForRole(auth.RoleTarget{AccountID: acct.ID}))
		return d.call, core.Close, nil
	}
	core.Close()
	return nil, nil, fmt.Errorf("unknown mode %q", mode)
}

// direct is a minimal hand-written MCP client: initialize once, then one
// signed POST per tools/call, answer decoded only as far as its result.
type direct struct {
	url     string
	client  *http.Client
	session string
	seq     atomic.Int64
}

// newDirect returns a direct client of the upstream at url, signing with
// creds over transport tr.
func newDirect(url string, tr http.RoundTripper, creds aws.CredentialsProvider) *direct {
	return &direct{url: url, client: &http.Client{Transport: &auth.SigningTransport{
		Base: tr, Credentials: creds, Signer: v4.NewSigner(), Service: auth.ServiceName, Region: "us-east-1",
	}}}
}

func (d *direct) call(ctx context.Context) error {
	if d.session == "" {
		if err := d.initialize(ctx); err != nil {
			return err
		}
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,"_meta":{"AWS_REGION":"us-east-1"}}}`,
		d.seq.Add(1), CallerIdentity.ToolName, CallerIdentity.Arguments)
	data, _, err := d.post(ctx, body)
	if err != nil {
		return err
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &resp); err != nil || len(resp.Result) == 0 {
		return fmt.Errorf("tools/call answered %s", data)
	}
	return nil
}

func (d *direct) initialize(ctx context.Context) error {
	_, h, err := d.post(ctx, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	if err != nil {
		return err
	}
	d.session = h.Get("Mcp-Session-Id")
	_, _, err = d.post(ctx, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return err
}

func (d *direct) post(ctx context.Context, body string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader([]byte(body)))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if d.session != "" {
		req.Header.Set("Mcp-Session-Id", d.session)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("upstream answered %s: %s", resp.Status, data)
	}
	return data, resp.Header, err
}

// LatencyResult summarizes per-call latencies in microseconds.
type LatencyResult struct {
	Mode  OverheadMode `json:"mode"`
	Calls int          `json:"calls"`
	P50us float64      `json:"p50_us"`
	P90us float64      `json:"p90_us"`
	P99us float64      `json:"p99_us"`
	MaxUs float64      `json:"max_us"`
}

// MeasureQuery warms a caller up (warmup calls) and then times calls
// sequential calls.
func MeasureQuery(ctx context.Context, fakes Fakes, mode OverheadMode, binary string, warmup, calls int) (*LatencyResult, error) {
	if err := fakes.SetLatency(0); err != nil {
		return nil, err
	}
	call, release, err := NewQueryCaller(fakes, mode, binary)
	if err != nil {
		return nil, err
	}
	defer release()
	for range warmup {
		if err := call(ctx); err != nil {
			return nil, err
		}
	}
	lat := make([]float64, 0, calls)
	for range calls {
		start := time.Now()
		if err := call(ctx); err != nil {
			return nil, err
		}
		lat = append(lat, float64(time.Since(start).Nanoseconds())/1e3)
	}
	return &LatencyResult{Mode: mode, Calls: calls, P50us: Percentile(lat, 50), P90us: Percentile(lat, 90),
		P99us: Percentile(lat, 99), MaxUs: Percentile(lat, 100)}, nil
}
