package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// FanoutOptions is one query_all scenario.
type FanoutOptions struct {
	// C is the concurrency (--concurrency).
	C int
	// Latency is the upstream's tools/call latency.
	Latency time.Duration
	// Warm is how many warm query_all runs follow the cold one.
	Warm int
	// ColdProfile and WarmProfile, when set, receive a CPU profile of the
	// cold run and of the warm runs.
	ColdProfile, WarmProfile io.Writer
	// STSIdleConns is CoreOptions.STSIdleConns.
	STSIdleConns int
	// Floor adds the same-run floor: the fan-out sent by minimal clients.
	Floor bool
}

// FanoutResult is what one query_all scenario measured. The cold run is the
// first query_all of a fresh core (AssumeRole, initialize and tools/call per
// account); warm runs reuse credentials and sessions.
type FanoutResult struct {
	N         int     `json:"n"`
	C         int     `json:"c"`
	LatencyMS float64 `json:"latency_ms"`
	// Payload is the size of every upstream answer's text (0: small).
	Payload int `json:"payload_bytes,omitempty"`
	// TLS says the fakes served TLS with HTTP/2.
	TLS bool `json:"tls,omitempty"`
	// STSIdleConns is the STS transport's MaxIdleConnsPerHost when raised.
	STSIdleConns int `json:"sts_idle_conns,omitempty"`
	// IdealMS is ceil(N/C)×latency.
	IdealMS float64 `json:"ideal_ms"`
	ColdMS  float64 `json:"cold_ms"`
	// WarmMS is the median of the warm runs (0 without any).
	WarmMS float64 `json:"warm_ms"`
	// FloorColdMS and FloorWarmMS are the same-run floor (FanoutOptions.
	// Floor): the same calls sent to the same fake by minimal hand-written
	// clients, C at a time, without the proxy; cold assumes each role and
	// initializes each session, warm only calls.
	FloorColdMS float64 `json:"floor_cold_ms,omitempty"`
	FloorWarmMS float64 `json:"floor_warm_ms,omitempty"`
	WarmRuns    int     `json:"warm_runs"`
	Succeeded   int     `json:"succeeded"`
	Failed      int     `json:"failed"`
	// AssumeRole counts AssumeRole calls during the cold run; AssumeRoleWarm
	// those during the warm runs (0 when credentials are cached).
	AssumeRole     int `json:"assume_role"`
	AssumeRoleWarm int `json:"assume_role_warm"`
	// PoolSessions is upstream.Pool.SessionsOpened; UpstreamSessions is the
	// fake server's count of initialize calls.
	PoolSessions     int64 `json:"pool_sessions"`
	UpstreamSessions int   `json:"upstream_sessions"`
	// MaxInflight is the most tools/call the upstream served at once.
	MaxInflight int `json:"max_inflight"`
	// STSConns and MCPConns count the connections the STS and upstream
	// transports dialed during the runs.
	STSConns int `json:"sts_conns"`
	MCPConns int `json:"mcp_conns"`
	// CPU time (user+system) of this process and bytes allocated, during
	// the cold run and per warm run.
	CPUColdMS    float64 `json:"cpu_cold_ms"`
	CPUWarmMS    float64 `json:"cpu_warm_ms"`
	AllocColdMiB float64 `json:"alloc_cold_mib"`
	AllocWarmMiB float64 `json:"alloc_warm_mib"`
	// Goroutine counts: before the cold run, peak during the runs, after
	// them, and after closing idle upstream connections.
	GoroutinesBefore     int `json:"goroutines_before"`
	GoroutinesPeak       int `json:"goroutines_peak"`
	GoroutinesAfter      int `json:"goroutines_after"`
	GoroutinesIdleClosed int `json:"goroutines_idle_closed"`
	// RSS of this process in MiB: before, peak during the runs, after.
	RSSBeforeMiB float64 `json:"rss_before_mib"`
	RSSPeakMiB   float64 `json:"rss_peak_mib"`
	RSSAfterMiB  float64 `json:"rss_after_mib"`
	// PeakFromHWM says RSSPeakMiB is the kernel's VmHWM, not a sample.
	PeakFromHWM bool `json:"peak_from_hwm"`
	// FakesInProcess says the fakes shared this process (RSS and
	// goroutines then include theirs).
	FakesInProcess bool `json:"fakes_in_process"`
}

// Ideal returns ceil(n/c)×latency, the wall time of a perfect fan-out; c
// <= 0 is the automatic width, every target at once.
func Ideal(n, c int, latency time.Duration) time.Duration {
	if c <= 0 {
		c = max(n, 1)
	}
	return time.Duration((n+c-1)/c) * latency
}

// RunFanout measures query_all of CallerIdentity over every account of the
// fakes: one cold run on a fresh core, then opts.Warm warm runs.
func RunFanout(ctx context.Context, fakes Fakes, opts FanoutOptions) (*FanoutResult, error) {
	accts := fakes.Accounts()
	n := len(accts)
	if err := fakes.SetLatency(opts.Latency); err != nil {
		return nil, err
	}
	core, err := NewCore(fakes.URLs(), CoreOptions{Concurrency: opts.C, Accounts: accts, STSIdleConns: opts.STSIdleConns})
	if err != nil {
		return nil, err
	}
	defer core.Close()
	_, inProcess := fakes.(*InProcess)
	res := &FanoutResult{N: n, C: opts.C, LatencyMS: ms(opts.Latency), IdealMS: ms(Ideal(n, opts.C, opts.Latency)),
		FakesInProcess: inProcess, STSIdleConns: opts.STSIdleConns, TLS: fakes.URLs().CACert != ""}

	before, err := fakes.Stats()
	if err != nil {
		return nil, err
	}
	runtime.GC()
	res.GoroutinesBefore = runtime.NumGoroutine()
	rss, _, _ := ProcStatus(0)
	res.RSSBeforeMiB = MiB(rss)
	sampler := StartSampler(20 * time.Millisecond)

	stopProfile, err := startProfile(opts.ColdProfile)
	if err != nil {
		sampler.Stop()
		return nil, err
	}
	use := startUsage()
	start := time.Now()
	out, err := core.Service.QueryAll(ctx, CallerIdentity, nil)
	res.ColdMS = ms(time.Since(start))
	res.CPUColdMS, res.AllocColdMiB = use.stop()
	stopProfile()
	if err != nil {
		sampler.Stop()
		return nil, fmt.Errorf("cold query_all: %w", err)
	}
	res.Succeeded, res.Failed = out.Summary.Succeeded, out.Summary.Failed
	cold, err := fakes.Stats()
	if err != nil {
		sampler.Stop()
		return nil, err
	}
	res.AssumeRole = cold.AssumeRole - before.AssumeRole

	var warm []float64
	if stopProfile, err = startProfile(opts.WarmProfile); err != nil {
		sampler.Stop()
		return nil, err
	}
	use = startUsage()
	for range opts.Warm {
		start := time.Now()
		out, err := core.Service.QueryAll(ctx, CallerIdentity, nil)
		if err != nil {
			sampler.Stop()
			return nil, fmt.Errorf("warm query_all: %w", err)
		}
		warm = append(warm, ms(time.Since(start)))
		res.Failed += out.Summary.Failed
	}
	cpu, alloc := use.stop()
	stopProfile()
	if opts.Warm > 0 {
		res.CPUWarmMS, res.AllocWarmMiB = cpu/float64(opts.Warm), alloc/float64(opts.Warm)
	}
	peak := sampler.Stop()
	res.STSConns, res.MCPConns = int(core.STSDials.Load()), int(core.UpstreamDials.Load())
	res.WarmMS, res.WarmRuns = Median(warm), len(warm)
	res.GoroutinesPeak, res.RSSPeakMiB, res.PeakFromHWM = peak.PeakGoroutines, MiB(peak.PeakRSS), peak.HWM

	after, err := fakes.Stats()
	if err != nil {
		return nil, err
	}
	if opts.Floor {
		if res.FloorColdMS, res.FloorWarmMS, err = runFloor(ctx, fakes, core, opts.C); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	res.AssumeRoleWarm = after.AssumeRole - cold.AssumeRole
	res.PoolSessions = core.Pool.SessionsOpened()
	res.UpstreamSessions = after.Sessions - before.Sessions
	res.MaxInflight = after.MaxInflight
	res.GoroutinesAfter = Goroutines(time.Second, res.GoroutinesBefore)
	rss, _, _ = ProcStatus(0)
	res.RSSAfterMiB = MiB(rss)
	core.CloseIdleConnections()
	res.GoroutinesIdleClosed = Goroutines(2*time.Second, res.GoroutinesBefore)
	return res, nil
}

// SequentialResult is the sequential baseline: the accounts queried one
// after the other, each cold (AssumeRole, new session, call), as the seed's
// `for acc in accounts` Lambda did.
type SequentialResult struct {
	// Measured is how many accounts were actually queried.
	Measured int `json:"measured"`
	// TotalMS is the wall time of the measured accounts.
	TotalMS float64 `json:"total_ms"`
	// PerAccountMS is TotalMS / Measured.
	PerAccountMS float64 `json:"per_account_ms"`
	Failed       int     `json:"failed"`
}

// Estimate returns the baseline's wall time for n accounts: measured when
// n accounts were queried, else extrapolated from the per-account time.
func (s *SequentialResult) Estimate(n int) (ms float64, measured bool) {
	if s.Measured == n {
		return s.TotalMS, true
	}
	return s.PerAccountMS * float64(n), false
}

// RunSequential queries the first limit accounts of the fakes one after the
// other through Service.Query, each account's first call (so cold).
func RunSequential(ctx context.Context, fakes Fakes, latency time.Duration, limit int) (*SequentialResult, error) {
	accts := fakes.Accounts()
	if limit > 0 && limit < len(accts) {
		accts = accts[:limit]
	}
	if err := fakes.SetLatency(latency); err != nil {
		return nil, err
	}
	core, err := NewCore(fakes.URLs(), CoreOptions{Concurrency: 1, Accounts: fakes.Accounts()})
	if err != nil {
		return nil, err
	}
	defer core.Close()
	res := &SequentialResult{Measured: len(accts)}
	start := time.Now()
	for _, a := range accts {
		r, err := core.Service.Query(ctx, proxy.QueryRequest{
			AccountID: a.ID, ToolName: CallerIdentity.ToolName, Arguments: CallerIdentity.Arguments,
		})
		if err != nil {
			return nil, err
		}
		if r.Status != proxy.StatusSuccess {
			res.Failed++
		}
	}
	res.TotalMS = ms(time.Since(start))
	res.PerAccountMS = res.TotalMS / float64(len(accts))
	return res, nil
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 { return Percentile(xs, 50) }

// Percentile returns the p-th percentile of xs by the nearest-rank method
// (0 for none).
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// runFloor sends CallerIdentity to every account of the fakes with a
// minimal hand-written client each (direct: one signed, initialized
// session per account, no proxy), c at a time over one transport sized for
// c: what signing, loopback HTTP and the fake's own work cost at this
// width on this machine, the floor under a fan-out. The cold pass assumes
// each role (with no session policy: a credential of its own) and
// initializes each session; the warm pass only calls.
func runFloor(ctx context.Context, fakes Fakes, core *Core, c int) (coldMS, warmMS float64, err error) {
	tr, err := directTransport(fakes.URLs(), c)
	if err != nil {
		return 0, 0, err
	}
	defer tr.CloseIdleConnections()
	accts := fakes.Accounts()
	clients := make([]*direct, len(accts))
	for i, a := range accts {
		clients[i] = newDirect(fakes.URLs().MCP, tr, core.Store.ForRole(auth.RoleTarget{AccountID: a.ID}))
	}
	pass := func() (float64, error) {
		start := time.Now()
		var next atomic.Int64
		errs := make(chan error, c)
		for range c {
			go func() {
				for i := int(next.Add(1) - 1); i < len(clients); i = int(next.Add(1) - 1) {
					if err := clients[i].call(ctx); err != nil {
						errs <- fmt.Errorf("account %s: %w", accts[i].ID, err)
						return
					}
				}
				errs <- nil
			}()
		}
		var first error
		for range c {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return ms(time.Since(start)), first
	}
	if coldMS, err = pass(); err != nil {
		return 0, 0, err
	}
	warmMS, err = pass()
	return coldMS, warmMS, err
}
