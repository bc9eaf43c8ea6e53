package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/centralops/aws-mcp-multi-account/bench"
)

// Sizes of the full report.
var (
	fullNs = []int{10, 100, 500, 2000}
	fullCs = []int{8, 16, 64}
)

// runAll builds the binaries and runs every scenario.
func runAll(ctx context.Context, quick bool) (*Results, error) {
	dir, err := os.MkdirTemp("", "amma-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	progress("building binaries into %s", dir)
	bins, err := bench.Build(dir)
	if err != nil {
		return nil, err
	}
	res := &Results{Machine: machine(), Quick: quick}
	ns, cs, seqNs, repeats, profileN := fullNs, fullCs, []int{10, 100}, 20, 2000
	if quick {
		ns, cs, seqNs, repeats, profileN = []int{10, 100}, []int{16, 64}, []int{10}, 3, 100
	}

	for _, n := range ns {
		for _, c := range cs {
			warm := 1
			if bench.Ideal(n, c, Latency).Seconds() <= 1 {
				warm = 3
			}
			progress("query_all N=%d C=%d (cold + %d warm)", n, c, warm)
			var r bench.FanoutResult
			if err := child(dir, &r, "-scenario", "fanout", "-n", itoa(n), "-c", itoa(c), "-warm", itoa(warm)); err != nil {
				return nil, err
			}
			res.Fanout = append(res.Fanout, &r)
		}
	}
	for _, n := range seqNs {
		progress("sequential baseline N=%d", n)
		var r bench.SequentialResult
		if err := child(dir, &r, "-scenario", "sequential", "-n", itoa(n)); err != nil {
			return nil, err
		}
		res.Sequential = append(res.Sequential, &r)
	}
	calls := 2000
	if quick {
		calls = 200
	}
	for _, mode := range []bench.OverheadMode{bench.ModeDirect, bench.ModeService, bench.ModeStdio, bench.ModeHTTP} {
		progress("query overhead (%s, %d calls)", mode, calls)
		var r bench.LatencyResult
		if err := child(dir, &r, "-scenario", "overhead", "-mode", string(mode), "-calls", itoa(calls)); err != nil {
			return nil, err
		}
		res.Overhead = append(res.Overhead, &r)
	}
	for _, c := range []int{16, 64} {
		progress("query_all over stdio N=%d C=%d", profileN, c)
		var r bench.StdioFanoutResult
		if err := child(dir, &r, "-scenario", "stdio", "-n", itoa(profileN), "-c", itoa(c)); err != nil {
			return nil, err
		}
		res.Stdio = append(res.Stdio, &r)
	}
	if err := tlsRuns(dir, profileN, quick, res); err != nil {
		return nil, err
	}
	if err := largeRuns(dir, profileN, quick, res); err != nil {
		return nil, err
	}
	if err := answerRuns(dir, profileN, quick, res); err != nil {
		return nil, err
	}
	if !quick {
		progress("query_all N=10000 C=64 (cold + 1 warm), then the same-run floor")
		res.Wide = &bench.FanoutResult{}
		if err := child(dir, res.Wide, "-scenario", "fanout", "-n", "10000", "-c", "64", "-warm", "1", "-floor"); err != nil {
			return nil, err
		}
		if err := wideRuns(dir, res); err != nil {
			return nil, err
		}
	}
	if err := processLevel(ctx, bins, repeats, res); err != nil {
		return nil, err
	}
	progress("profiling query_all N=%d C=64", profileN)
	if res.Profile, err = profile(dir, profileN, 64, largePayloads(quick)[len(largePayloads(quick))-1]); err != nil {
		return nil, err
	}
	return res, nil
}

// tlsRuns runs query_all N×64 against fakes serving TLS, alternating the
// SDK's default STS pool with one of 64 idle connections, 3 times each.
func tlsRuns(dir string, n int, quick bool, res *Results) error {
	reps := 3
	if quick {
		reps = 1
	}
	for i := range reps {
		for _, idle := range []int{10, 64} {
			progress("query_all N=%d C=64 over TLS, STS idle conns %d (%d/%d)", n, idle, i+1, reps)
			var r bench.FanoutResult
			if err := child(dir, &r, "-scenario", "fanout", "-n", itoa(n), "-c", "64", "-tls", "-sts-idle", itoa(idle)); err != nil {
				return err
			}
			res.TLS = append(res.TLS, &r)
		}
	}
	return nil
}

// largePayloads are the answer sizes of the large-answer runs.
func largePayloads(quick bool) []int {
	if quick {
		return []int{16 << 10}
	}
	return []int{4 << 10, 16 << 10}
}

// largeRuns measures query_all N×64 with large upstream answers: the core,
// the tool layer split, and the stdio binary end to end.
func largeRuns(dir string, n int, quick bool, res *Results) error {
	for _, size := range largePayloads(quick) {
		l := &Large{Payload: size, Fanout: &bench.FanoutResult{}, Tool: &bench.ToolLayerResult{}, Stdio: &bench.StdioFanoutResult{}}
		progress("large answers (%d KiB): core, tool layer, stdio", size>>10)
		args := []string{"-n", itoa(n), "-c", "64", "-payload", itoa(size)}
		if err := child(dir, l.Fanout, append([]string{"-scenario", "fanout"}, args...)...); err != nil {
			return err
		}
		if err := child(dir, l.Tool, append([]string{"-scenario", "tool"}, args...)...); err != nil {
			return err
		}
		if err := child(dir, l.Stdio, append([]string{"-scenario", "stdio"}, args...)...); err != nil {
			return err
		}
		res.Large = append(res.Large, l)
	}
	return nil
}

// answerRuns measures answers an agent can use: the budget scenario, the
// memory of large answers with the default and a small result store, and
// the Lambda bridge's deadline-sized fan-out and results bucket.
func answerRuns(dir string, n int, quick bool, res *Results) error {
	budgetN := 300
	if quick {
		budgetN = 60
	}
	progress("budget: query_all over %d accounts answering DescribeInstances, get_result re-projections", budgetN)
	res.Budget = &bench.BudgetResult{}
	if err := child(dir, res.Budget, "-scenario", "budget", "-n", itoa(budgetN), "-c", "64"); err != nil {
		return err
	}
	for _, env := range []string{"", "AWS_MCP_RESULT_STORE_BYTES=16MiB"} {
		progress("memory: %d accounts × 16 KiB through the stdio binary %s", n, env)
		r := &bench.StdioFanoutResult{}
		if err := child(dir, r, "-scenario", "stdio", "-n", itoa(n), "-c", "64", "-payload", itoa(16<<10), "-env", env); err != nil {
			return err
		}
		res.Memory = append(res.Memory, r)
	}
	lambdas := []struct {
		n, payload int
		latency    string
		bucket     bool
		env        string
	}{
		{500, 0, "10s", false, "AWS_MCP_TIMEOUT=25s"},
		{1000, 8 << 10, "100ms", true, "AWS_MCP_CONCURRENCY=16"},
	}
	if quick {
		lambdas = lambdas[1:]
		lambdas[0].n = 200
	}
	for _, l := range lambdas {
		progress("Lambda: query_all over %d accounts, latency %s, answers %d KiB, bucket %t", l.n, l.latency, l.payload>>10, l.bucket)
		r := &bench.LambdaResult{}
		args := []string{"-scenario", "lambda", "-n", itoa(l.n), "-latency", l.latency, "-payload", itoa(l.payload), "-env", l.env}
		if l.bucket {
			args = append(args, "-bucket")
		}
		if err := child(dir, r, args...); err != nil {
			return err
		}
		res.Lambdas = append(res.Lambdas, r)
	}
	return nil
}

// processLevel measures the built binaries: start-up, idle RSS, Lambda
// first poll and Organizations discovery, repeats times each.
func processLevel(ctx context.Context, bins *bench.Binaries, repeats int, res *Results) error {
	fakes := bench.StartInProcess(bench.FakeOptions{Accounts: 10})
	defer fakes.Close()
	progress("start-up to first tools/list, %d runs", repeats)
	var startup, rss, lambda []float64
	for range repeats {
		r, err := bench.MeasureStartup(ctx, bins.Server, fakes)
		if err != nil {
			return err
		}
		startup, rss = append(startup, r.ToolsListMS), append(rss, r.IdleRSSMiB)
	}
	res.Startup, res.IdleRSS = series(startup), series(rss)
	progress("package init of the stdio binary, %d runs", repeats)
	var version, initDone []float64
	for range repeats {
		r, err := bench.MeasureInit(ctx, bins.Server)
		if err != nil {
			return err
		}
		version, initDone = append(version, r.VersionMS), append(initDone, r.InitDoneMS)
		res.InitTop = r.Top
	}
	res.Init, res.InitDone = series(version), series(initDone)
	progress("Lambda start to first poll, %d runs", repeats)
	for range repeats {
		d, err := bench.MeasureLambdaFirstPoll(ctx, bins.Bootstrap, fakes)
		if err != nil {
			return err
		}
		lambda = append(lambda, float64(d.Microseconds())/1000)
	}
	res.Lambda = series(lambda)

	res.OrgSize = bench.OrgSizeFor(320)
	org := bench.StartInProcess(bench.FakeOptions{Org: res.OrgSize})
	defer org.Close()
	runs := max(3, repeats/2)
	progress("Organizations discovery of 320 accounts, %d runs", runs)
	var orgMS []float64
	for range runs {
		r, err := bench.MeasureOrgDiscovery(ctx, bins.Server, org)
		if err != nil {
			return err
		}
		if r.Accounts != 320 {
			return fmt.Errorf("list_accounts returned %d accounts, want 320", r.Accounts)
		}
		orgMS = append(orgMS, r.MS)
		res.OrgCalls, res.OrgCount = r.OrgCalls, r.Accounts
	}
	res.Org = series(orgMS)
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
