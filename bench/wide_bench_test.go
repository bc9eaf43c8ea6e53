package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// BenchmarkWideScripts measures fan-outs of long scripts at the default
// settings (automatic width) through the stdio binary: N accounts whose
// script runs for D (the fake answers with a task after a second, polled
// through get_tasks as the real service's long scripts are), cold (every
// AssumeRole and session new) and warm. It reports both walls, how many
// accounts the first reply answered, and the server's peak RSS.
// Short mode runs the smallest case only.
func BenchmarkWideScripts(b *testing.B) {
	cases := []struct {
		n   int
		run time.Duration
	}{{100, 2 * time.Second}, {1000, 12 * time.Second}}
	if testing.Short() {
		cases = cases[:1]
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("N=%d/script=%s", c.n, c.run), func(b *testing.B) {
			bins := binaries(b)
			for range b.N {
				stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(c.n)})
				code := fmt.Sprintf("import asyncio\nawait asyncio.sleep(%d)\nresp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp", int(c.run.Seconds()))
				env := append(stack.Env(), accountsEnv(stack.Accounts), "AWS_MCP_LOG_LEVEL=warn")
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				srv, err := StartStdio(ctx, bins.Server, env)
				if err != nil {
					b.Fatal(err)
				}
				var walls [2]time.Duration
				var answered [2]int
				for i := range walls {
					start := time.Now()
					res, err := srv.Call(ctx, "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": map[string]any{"code": code}})
					walls[i] = time.Since(start)
					if err != nil || res.IsError {
						b.Fatalf("query_all: %v %v", err, res)
					}
					var out struct {
						Summary struct{ Succeeded, Pending int } `json:"summary"`
					}
					raw, _ := json.Marshal(res.StructuredContent)
					_ = json.Unmarshal(raw, &out)
					answered[i] = out.Summary.Succeeded
				}
				_, peak, _ := ProcStatus(srv.Pid())
				srv.Close()
				cancel()
				stack.Close()
				b.ReportMetric(walls[0].Seconds(), "cold-s")
				b.ReportMetric(walls[1].Seconds(), "warm-s")
				b.ReportMetric(walls[0].Seconds()/c.run.Seconds(), "cold-x-script")
				b.ReportMetric(walls[1].Seconds()/c.run.Seconds(), "warm-x-script")
				b.ReportMetric(float64(answered[0]), "answered-first")
				b.ReportMetric(MiB(peak), "peak-rss-MiB")
				if answered[0] != c.n {
					b.Errorf("the first reply answered %d of %d accounts", answered[0], c.n)
				}
			}
		})
	}
}
