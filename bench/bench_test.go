package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/rollout"
)

// fakesMode picks where the fakes run: "inprocess" (default) or "process"
// (a bench/fakeserver child, so metrics describe the proxy alone). Pass it
// after -args: go test -bench . ./bench/ -args -fakes=process
var fakesMode = flag.String("fakes", "inprocess", "where the fakes run: inprocess or process")

// upstreamLatency is the injected tools/call latency of the fan-out benchmarks.
const upstreamLatency = 100 * time.Millisecond

var (
	toolsOnce sync.Once
	toolsDir  string
	tools     *Binaries
	toolsErr  error
)

// binaries builds the fakeserver and the product binaries once per test
// binary run.
func binaries(b *testing.B) *Binaries {
	b.Helper()
	toolsOnce.Do(func() {
		toolsDir, toolsErr = os.MkdirTemp("", "amma-bench-")
		if toolsErr == nil {
			tools, toolsErr = Build(toolsDir)
		}
	})
	if toolsErr != nil {
		b.Fatalf("building binaries: %v", toolsErr)
	}
	return tools
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if toolsDir != "" {
		os.RemoveAll(toolsDir)
	}
	os.Exit(code)
}

// startFakes starts fakes of n accounts where -fakes says.
func startFakes(b *testing.B, o FakeOptions) Fakes {
	b.Helper()
	if *fakesMode == "process" {
		p, err := StartProcess(binaries(b).FakeServer, o)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	return StartInProcess(o)
}

// sizes returns the account counts and concurrencies to run.
func sizes() (ns, cs []int) {
	if testing.Short() {
		return []int{10, 100}, []int{8, 16, 64}
	}
	return []int{10, 100, 500, 2000}, []int{8, 16, 64}
}

// BenchmarkQueryAll measures a cold query_all (AssumeRole, session and call
// per account) over N accounts at concurrency C with 100 ms upstream
// latency. ns/op is the wall time; the metrics compare it to the ideal
// ceil(N/C)×latency.
func BenchmarkQueryAll(b *testing.B) {
	ns, cs := sizes()
	for _, n := range ns {
		for _, c := range cs {
			b.Run(fmt.Sprintf("N=%d/C=%d", n, c), func(b *testing.B) {
				var last *FanoutResult
				var wall time.Duration
				for range b.N {
					b.StopTimer()
					fakes := startFakes(b, FakeOptions{Accounts: n})
					b.StartTimer()
					res, err := RunFanout(context.Background(), fakes, FanoutOptions{C: c, Latency: upstreamLatency})
					b.StopTimer()
					fakes.Close()
					if err != nil {
						b.Fatal(err)
					}
					if res.Failed > 0 || res.AssumeRole != n {
						b.Errorf("%d accounts failed, %d AssumeRole calls for %d accounts", res.Failed, res.AssumeRole, n)
					}
					wall += time.Duration(res.ColdMS * float64(time.Millisecond))
					last = res
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "wall-ms/op")
				b.ReportMetric(last.IdealMS, "ideal-ms")
				b.ReportMetric(last.ColdMS/last.IdealMS, "x-ideal")
				b.ReportMetric(float64(last.AssumeRole), "assumerole")
				b.ReportMetric(float64(last.PoolSessions), "sessions")
				b.ReportMetric(float64(last.GoroutinesPeak), "goroutines-peak")
				b.ReportMetric(float64(last.GoroutinesIdleClosed-last.GoroutinesBefore), "goroutines-left")
				b.ReportMetric(last.RSSPeakMiB, "rss-peak-MiB")
			})
		}
	}
}

// BenchmarkQueryAllWarm measures query_all once credentials and sessions
// are cached (the second and later calls of a running server).
func BenchmarkQueryAllWarm(b *testing.B) {
	ns, cs := sizes()
	for _, n := range ns {
		for _, c := range cs {
			b.Run(fmt.Sprintf("N=%d/C=%d", n, c), func(b *testing.B) {
				fakes := startFakes(b, FakeOptions{Accounts: n})
				defer fakes.Close()
				if err := fakes.SetLatency(upstreamLatency); err != nil {
					b.Fatal(err)
				}
				core, err := NewCore(fakes.URLs(), CoreOptions{Concurrency: c, Accounts: fakes.Accounts()})
				if err != nil {
					b.Fatal(err)
				}
				defer core.Close()
				ctx := context.Background()
				if _, err := core.Service.QueryAll(ctx, CallerIdentity, nil); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					out, err := core.Service.QueryAll(ctx, CallerIdentity, nil)
					if err != nil || out.Summary.Failed > 0 {
						b.Fatalf("query_all: %v (%d failed)", err, out.Summary.Failed)
					}
				}
				b.StopTimer()
				ideal := Ideal(n, c, upstreamLatency)
				b.ReportMetric(float64(ideal.Milliseconds()), "ideal-ms")
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(ideal), "x-ideal")
			})
		}
	}
}

// BenchmarkQueryAllTool measures the query_all tool layer with 16 KiB
// upstream answers: the handler (fan-out plus readable text) and the
// JSON-RPC encoding the stdio server does, at C=64, warm.
func BenchmarkQueryAllTool(b *testing.B) {
	n := 2000
	if testing.Short() {
		n = 100
	}
	b.Run(fmt.Sprintf("N=%d/C=64/answer=16KiB", n), func(b *testing.B) {
		fakes := startFakes(b, FakeOptions{Accounts: n, Payload: 16 << 10})
		defer fakes.Close()
		var last *ToolLayerResult
		for range b.N {
			res, err := RunToolLayer(context.Background(), fakes, 64, upstreamLatency, 16<<10, nil)
			if err != nil {
				b.Fatal(err)
			}
			last = res
		}
		b.ReportMetric(last.CoreMS, "core-ms")
		b.ReportMetric(last.HandlerMS, "handler-ms")
		b.ReportMetric(last.EncodeMS, "encode-ms")
		b.ReportMetric(last.EncodeAllocMiB, "encode-alloc-MiB")
		b.ReportMetric(last.ResponseMiB, "response-MiB")
	})
}

// BenchmarkSequential is the seed's baseline: one account after the other,
// each cold, with 100 ms upstream latency. ns/op is the wall time of all N.
func BenchmarkSequential(b *testing.B) {
	ns := []int{10, 100}
	if testing.Short() {
		ns = []int{10}
	}
	for _, n := range ns {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				fakes := startFakes(b, FakeOptions{Accounts: n})
				b.StartTimer()
				res, err := RunSequential(context.Background(), fakes, upstreamLatency, 0)
				b.StopTimer()
				fakes.Close()
				if err != nil || res.Failed > 0 {
					b.Fatalf("sequential: %v (%d failed)", err, res.Failed)
				}
				b.ReportMetric(res.PerAccountMS, "ms/account")
			}
		})
	}
}

// BenchmarkQuery measures one warm query with a 0 ms upstream: through the
// Service in this process (what the proxy core adds, plus the loopback
// fake), the same tools/call sent directly with no proxy code (the floor),
// and the query tool of the built binary over stdio (what a host sees) and
// over Streamable HTTP as a team server.
func BenchmarkQuery(b *testing.B) {
	for _, mode := range []OverheadMode{ModeService, ModeDirect, ModeStdio, ModeHTTP} {
		b.Run(string(mode), func(b *testing.B) {
			fakes := startFakes(b, FakeOptions{Accounts: 1})
			defer fakes.Close()
			binary := ""
			if mode == ModeStdio || mode == ModeHTTP {
				binary = binaries(b).Server
			}
			call, closeFn, err := NewQueryCaller(fakes, mode, binary)
			if err != nil {
				b.Fatal(err)
			}
			defer closeFn()
			ctx := context.Background()
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
			lat := make([]float64, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, float64(time.Since(start).Nanoseconds())/1e3)
			}
			b.StopTimer()
			b.ReportMetric(Percentile(lat, 50), "p50-µs")
			b.ReportMetric(Percentile(lat, 99), "p99-µs")
		})
	}
}

// BenchmarkStartup measures process start to the first tools/list answer
// over stdio of the built stdio server.
func BenchmarkStartup(b *testing.B) {
	bins := binaries(b)
	fakes := StartInProcess(FakeOptions{Accounts: 10})
	defer fakes.Close()
	for range b.N {
		r, err := MeasureStartup(context.Background(), bins.Server, fakes)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.ToolsListMS, "ms-to-tools/list")
		b.ReportMetric(r.IdleRSSMiB, "rss-idle-MiB")
	}
}

// BenchmarkLambdaFirstPoll measures process start to the first
// /runtime/invocation/next poll of the Lambda build.
func BenchmarkLambdaFirstPoll(b *testing.B) {
	bins := binaries(b)
	fakes := StartInProcess(FakeOptions{Accounts: 10})
	defer fakes.Close()
	for range b.N {
		d, err := MeasureLambdaFirstPoll(context.Background(), bins.Bootstrap, fakes)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(d), "ms-to-poll")
	}
}

// BenchmarkOrgDiscovery measures process start to a complete list_accounts
// of an organization with 320 ACTIVE accounts.
func BenchmarkOrgDiscovery(b *testing.B) {
	bins := binaries(b)
	fakes := StartInProcess(FakeOptions{Org: OrgSizeFor(320)})
	defer fakes.Close()
	for range b.N {
		r, err := MeasureOrgDiscovery(context.Background(), bins.Server, fakes)
		if err != nil {
			b.Fatal(err)
		}
		if r.Accounts != 320 {
			b.Errorf("list_accounts returned %d accounts, want 320", r.Accounts)
		}
		b.ReportMetric(r.MS, "ms-to-list")
		b.ReportMetric(float64(r.OrgCalls), "org-calls")
	}
}

// BenchmarkChangeRollout measures a change over N accounts (canary 1, then
// at most C at once, 100 ms upstream latency): the plan, then the rollout
// of a cold core. The ideal is the canary's call plus ceil((N-1)/C) waves.
func BenchmarkChangeRollout(b *testing.B) {
	for _, n := range []int{10, 100} {
		for _, c := range []int{5, 10} {
			b.Run(fmt.Sprintf("N=%d/C=%d", n, c), func(b *testing.B) {
				var planMS, applyMS float64
				for range b.N {
					b.StopTimer()
					fakes := startFakes(b, FakeOptions{Accounts: n})
					if err := fakes.SetLatency(upstreamLatency); err != nil {
						b.Fatal(err)
					}
					core, err := NewCore(fakes.URLs(), CoreOptions{Concurrency: c, Accounts: fakes.Accounts(), AllowChanges: true})
					if err != nil {
						b.Fatal(err)
					}
					opts := rollout.Defaults()
					opts.MaxConcurrency = rollout.Limit{Count: c}
					b.StartTimer()
					start := time.Now()
					plan, err := core.Service.PlanChange(context.Background(), proxy.ChangeRequest{ToolName: CallerIdentity.ToolName, Arguments: CallerIdentity.Arguments, Rollout: opts})
					if err != nil {
						b.Fatal(err)
					}
					planned := time.Now()
					_, out, err := core.Service.ApplyChange(context.Background(), plan.ID, nil)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if out.Summary.Succeeded != n {
						b.Errorf("%d of %d succeeded", out.Summary.Succeeded, n)
					}
					planMS += ms(planned.Sub(start))
					applyMS += ms(time.Since(planned))
					core.Close()
					fakes.Close()
				}
				ideal := ms(upstreamLatency) * float64(1+(n-1+c-1)/c)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(planMS/float64(b.N), "plan-ms/op")
				b.ReportMetric(applyMS/float64(b.N), "apply-ms/op")
				b.ReportMetric(ideal, "ideal-ms")
				b.ReportMetric(applyMS/float64(b.N)/ideal, "x-ideal")
			})
		}
	}
}
