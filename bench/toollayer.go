package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// ToolLayerResult splits a warm query_all as the stdio server runs it into
// the fan-out itself (Service.QueryAll), the query_all tool handler
// (fan-out plus the result's text rendering), and the JSON encoding of the
// JSON-RPC response the server then writes.
type ToolLayerResult struct {
	N       int `json:"n"`
	C       int `json:"c"`
	Payload int `json:"payload_bytes"`
	// Wall ms, CPU ms and MiB allocated by each stage.
	CoreMS, CoreCPUMS, CoreAllocMiB          float64
	HandlerMS, HandlerCPUMS, HandlerAllocMiB float64
	EncodeMS, EncodeCPUMS, EncodeAllocMiB    float64
	// ResponseMiB is the size of the encoded JSON-RPC response.
	ResponseMiB float64 `json:"response_mib"`
}

// RunToolLayer measures one warm query_all through Service.QueryAll and
// then through the query_all tool handler plus the response encoding (after
// a cold run that fills the caches). profile, when set, receives a CPU
// profile of the handler and encoding stages.
func RunToolLayer(ctx context.Context, fakes Fakes, c int, latency time.Duration, payload int, profile io.Writer) (*ToolLayerResult, error) {
	if err := fakes.SetLatency(latency); err != nil {
		return nil, err
	}
	core, err := NewCore(fakes.URLs(), CoreOptions{Concurrency: c, Accounts: fakes.Accounts()})
	if err != nil {
		return nil, err
	}
	defer core.Close()
	handler, err := toolHandler(core.Service, proxy.ToolQueryAll)
	if err != nil {
		return nil, err
	}
	res := &ToolLayerResult{N: len(fakes.Accounts()), C: c, Payload: payload}
	if _, err := core.Service.QueryAll(ctx, CallerIdentity, nil); err != nil {
		return nil, err
	}

	use, start := startUsage(), time.Now()
	if _, err := core.Service.QueryAll(ctx, CallerIdentity, nil); err != nil {
		return nil, err
	}
	res.CoreMS = ms(time.Since(start))
	res.CoreCPUMS, res.CoreAllocMiB = use.stop()

	var req mcp.CallToolRequest
	req.Params.Name = proxy.ToolQueryAll
	req.Params.Arguments = map[string]any{"tool_name": CallerIdentity.ToolName, "arguments": json.RawMessage(CallerIdentity.Arguments)}
	stop, err := startProfile(profile)
	if err != nil {
		return nil, err
	}
	defer stop()
	use, start = startUsage(), time.Now()
	out, err := handler(ctx, req)
	if err != nil || out.IsError {
		return nil, fmt.Errorf("query_all handler: %v %v", err, out)
	}
	res.HandlerMS = ms(time.Since(start))
	res.HandlerCPUMS, res.HandlerAllocMiB = use.stop()

	// What the stdio server does with the result: marshal the JSON-RPC
	// response, then format it with a newline.
	use, start = startUsage(), time.Now()
	data, err := json.Marshal(mcp.JSONRPCResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(int64(1)), Result: out})
	if err != nil {
		return nil, err
	}
	line := fmt.Appendf(nil, "%s\n", data)
	res.EncodeMS = ms(time.Since(start))
	res.EncodeCPUMS, res.EncodeAllocMiB = use.stop()
	res.ResponseMiB = MiB(uint64(len(line)))
	return res, nil
}

// toolHandler returns the handler of one of the proxy's tools.
func toolHandler(svc *proxy.Service, name string) (server.ToolHandlerFunc, error) {
	for _, t := range proxy.Tools(svc) {
		if t.Tool.Name == name {
			return t.Handler, nil
		}
	}
	return nil, fmt.Errorf("no tool %q", name)
}
