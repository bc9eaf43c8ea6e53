package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// StdioFanoutResult is query_all through the built stdio server, as an MCP
// host sees it: the proxy's tool layer (structuredContent and text
// rendering, JSON-RPC over stdio) included.
type StdioFanoutResult struct {
	N       int     `json:"n"`
	C       int     `json:"c"`
	IdealMS float64 `json:"ideal_ms"`
	// ColdMS and WarmMS are the client-observed wall times of the first and
	// second query_all.
	ColdMS float64 `json:"cold_ms"`
	WarmMS float64 `json:"warm_ms"`
	// ResponseKiB is the size of the query_all result (structuredContent
	// plus text) as the client decoded it; TextKiB its text.
	ResponseKiB float64 `json:"response_kib"`
	TextKiB     float64 `json:"text_kib"`
	// Named counts the accounts the text names.
	Named     int    `json:"named"`
	Succeeded int    `json:"succeeded"`
	Env       string `json:"env,omitempty"`
	// IdleRSSMiB is the server's RSS before the first query_all; PeakRSSMiB
	// its VmHWM after both; AfterRSSMiB its RSS after both.
	IdleRSSMiB  float64 `json:"idle_rss_mib"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	AfterRSSMiB float64 `json:"after_rss_mib"`
}

// MeasureStdioFanout starts the stdio server with --concurrency c over the
// fakes' accounts (and extra environment) and calls query_all twice.
func MeasureStdioFanout(ctx context.Context, binary string, fakes Fakes, c int, latency time.Duration, extra ...string) (*StdioFanoutResult, error) {
	if err := fakes.SetLatency(latency); err != nil {
		return nil, err
	}
	n := len(fakes.Accounts())
	env := append(append(fakes.URLs().Env, accountsEnv(fakes.Accounts()), fmt.Sprintf("AWS_MCP_CONCURRENCY=%d", c)), extra...)
	srv, err := StartStdio(ctx, binary, env)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	res := &StdioFanoutResult{N: n, C: c, IdealMS: ms(Ideal(n, c, latency)), Env: strings.Join(extra, " ")}
	time.Sleep(200 * time.Millisecond)
	rss, _, err := ProcStatus(srv.Pid())
	if err != nil {
		return nil, err
	}
	res.IdleRSSMiB = MiB(rss)
	var args map[string]any
	json.Unmarshal(CallerIdentity.Arguments, &args)
	call := func() (*mcp.CallToolResult, float64, error) {
		start := time.Now()
		out, err := srv.Call(ctx, "query_all", map[string]any{"tool_name": CallerIdentity.ToolName, "arguments": args})
		return out, ms(time.Since(start)), err
	}
	out, took, err := call()
	if err != nil {
		return nil, err
	}
	res.ColdMS = took
	var summary struct {
		Summary struct {
			Succeeded int `json:"succeeded"`
		} `json:"summary"`
	}
	raw := out.RawStructuredContent
	if len(raw) == 0 {
		raw, _ = json.Marshal(out.StructuredContent)
	}
	json.Unmarshal(raw, &summary)
	res.Succeeded = summary.Summary.Succeeded
	text, _ := json.Marshal(out.Content)
	res.ResponseKiB = float64(len(raw)+len(text)) / 1024
	res.TextKiB = float64(len(firstText(out))) / 1024
	for _, a := range fakes.Accounts() {
		if strings.Contains(firstText(out), a.ID) {
			res.Named++
		}
	}
	if _, res.WarmMS, err = call(); err != nil {
		return nil, err
	}
	rss, hwm, err := ProcStatus(srv.Pid())
	if err != nil {
		return nil, err
	}
	res.PeakRSSMiB, res.AfterRSSMiB = MiB(hwm), MiB(rss)
	return res, nil
}
