// Command report runs the benchmarks of package bench, each scenario in a
// fresh child process against fakes in a process of their own, and prints
// BENCHMARKS.md on standard output. bench/run.sh is the one command that
// regenerates it:
//
//	go run ./bench/cmd/report -json bench/results/latest.json \
//	    -baseline bench/results/before.json -findings bench/FINDINGS.md > BENCHMARKS.md
//
// With -from results.json it renders an earlier run without running again.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/centralops/aws-mcp-multi-account/bench"
)

// Results is everything one report run measured (and what -json saves).
type Results struct {
	Machine    Machine                    `json:"machine"`
	Fanout     []*bench.FanoutResult      `json:"fanout"`
	Sequential []*bench.SequentialResult  `json:"sequential"`
	Overhead   []*bench.LatencyResult     `json:"overhead"`
	Startup    Series                     `json:"startup_ms"`
	IdleRSS    Series                     `json:"idle_rss_mib"`
	Lambda     Series                     `json:"lambda_first_poll_ms"`
	Org        Series                     `json:"org_list_accounts_ms"`
	OrgCalls   int                        `json:"org_calls"`
	OrgCount   int                        `json:"org_accounts"`
	OrgSize    int                        `json:"org_size"`
	Stdio      []*bench.StdioFanoutResult `json:"stdio_fanout"`
	Profile    *Profile                   `json:"profile"`
	// TLS are N=2000, C=64 runs against fakes serving TLS, alternating the
	// SDK's STS connection pool (10 idle) with one sized for C.
	TLS []*bench.FanoutResult `json:"tls"`
	// Large are the large-answer runs, by answer size.
	Large []*Large `json:"large"`
	// Init is the stdio binary's cost before main, from repeated runs.
	Init     Series              `json:"version_ms"`
	InitDone Series              `json:"init_done_ms"`
	InitTop  []bench.PackageInit `json:"init_top"`
	Quick    bool                `json:"quick"`

	// Budget is the 300-account DescribeInstances scenario of answers an
	// agent can use; Memory the 2,000 × 16 KiB runs through the stdio
	// binary with the default and a small result store; Lambda the bridge's
	// deadline-sized fan-out and its bucket.
	Budget  *bench.BudgetResult        `json:"budget"`
	Memory  []*bench.StdioFanoutResult `json:"memory"`
	Lambdas []*bench.LambdaResult      `json:"lambdas"`
	// Wide is 10,000 accounts at concurrency 64 with the same-run floor
	// (full reports only).
	Wide *bench.FanoutResult `json:"wide,omitempty"`
	// Scripts are 10,000 accounts of 12-second scripts through the stdio
	// binary, InFlight the memory of calls in flight (full reports only).
	Scripts  []*bench.WideScriptsResult `json:"scripts,omitempty"`
	InFlight []*bench.InFlightResult    `json:"in_flight,omitempty"`
	// STS is 10,000 AssumeRole calls against the fake STS alone.
	STS *bench.STSResult `json:"sts,omitempty"`
}

// Large is query_all over accounts whose answers are Payload bytes of text.
type Large struct {
	Payload int                      `json:"payload_bytes"`
	Fanout  *bench.FanoutResult      `json:"fanout"`
	Tool    *bench.ToolLayerResult   `json:"tool"`
	Stdio   *bench.StdioFanoutResult `json:"stdio"`
}

// Series is repeated measurements of one thing.
type Series struct {
	Runs   []float64 `json:"runs"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
}

func series(xs []float64) Series {
	return Series{Runs: xs, Median: bench.Median(xs), Min: bench.Percentile(xs, 0), Max: bench.Percentile(xs, 100)}
}

// Latency is the upstream latency of every fan-out scenario.
const Latency = 100 * time.Millisecond

func main() {
	var o options
	flag.StringVar(&o.scenario, "scenario", "", "internal: run one scenario in this process and print its JSON")
	flag.IntVar(&o.n, "n", 100, "scenario: accounts")
	flag.IntVar(&o.c, "c", 16, "scenario: concurrency")
	flag.IntVar(&o.warm, "warm", 1, "scenario fanout: warm runs after the cold one")
	flag.StringVar(&o.mode, "mode", "service", "scenario overhead: service, direct or stdio")
	flag.IntVar(&o.calls, "calls", 2000, "scenario overhead: timed calls")
	flag.BoolVar(&o.tls, "tls", false, "scenario fanout, scripts: fakes over TLS with HTTP/2")
	flag.BoolVar(&o.floor, "floor", false, "scenario fanout, scripts: add the same-run floor (minimal direct clients, no proxy)")
	flag.IntVar(&o.stsIdle, "sts-idle", 0, "scenario fanout: STS MaxIdleConnsPerHost (0: sized for the concurrency, as app.Build does; 10: the SDK default)")
	flag.IntVar(&o.payload, "payload", 0, "scenario fanout, stdio, tool, lambda: bytes of every upstream answer's text (0: small answers)")
	flag.StringVar(&o.env, "env", "", "scenario stdio, lambda, scripts: extra environment of the server, space-separated")
	flag.DurationVar(&o.latency, "latency", Latency, "scenario lambda: upstream latency")
	flag.DurationVar(&o.script, "script", 12*time.Second, "scenario scripts: how long every account's script runs")
	flag.DurationVar(&o.taskAfter, "task-after", 0, "scenario scripts: scripts longer than this answer with a task to poll, shorter ones are held (0: the fake's default, 1 s)")
	flag.BoolVar(&o.bucket, "bucket", false, "scenario lambda: keep results in a fake S3 bucket")
	flag.StringVar(&o.profileDir, "profile-dir", "", "scenario fanout: write cold/warm CPU and alloc profiles here")
	flag.StringVar(&o.binDir, "bin", "", "internal: directory of the built binaries")
	quick := flag.Bool("quick", false, "small sizes only (a smoke run of the report itself)")
	jsonOut := flag.String("json", "", "also write the raw results to this file")
	baseline := flag.String("baseline", "", "results JSON of an earlier run, shown as 'before'")
	findings := flag.String("findings", "", "markdown file appended as the findings section")
	from := flag.String("from", "", "render the results JSON of an earlier run instead of running")
	flag.Parse()

	if o.scenario != "" {
		if err := runScenario(context.Background(), o); err != nil {
			fmt.Fprintln(os.Stderr, "scenario:", err)
			os.Exit(1)
		}
		return
	}
	var res *Results
	var err error
	if *from != "" {
		res, err = readResults(*from)
	} else {
		res, err = runAll(context.Background(), *quick)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	var before *Results
	if *baseline != "" {
		if before, err = readResults(*baseline); err != nil {
			fmt.Fprintln(os.Stderr, "report: baseline:", err)
			os.Exit(1)
		}
	}
	var notes []byte
	if *findings != "" {
		if notes, err = os.ReadFile(*findings); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	render(os.Stdout, res, before, string(notes))
}

// readResults reads a results JSON written with -json.
func readResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &Results{}
	return r, json.Unmarshal(data, r)
}

// options are the flags of a child scenario.
type options struct {
	scenario, mode, profileDir, binDir, env string
	n, c, warm, calls, payload, stsIdle     int
	tls, bucket, floor                      bool
	latency, script, taskAfter              time.Duration
}

// child runs one scenario in a fresh process and decodes its JSON into v.
func child(bins string, v any, args ...string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{"-bin", bins}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%v: %w", args, err)
	}
	return json.Unmarshal(out, v)
}

// binaries returns the built binaries of directory dir.
func binaries(dir string) *bench.Binaries {
	return &bench.Binaries{
		Server:     filepath.Join(dir, "aws-mcp-multi-account"),
		Bootstrap:  filepath.Join(dir, "bootstrap"),
		FakeServer: filepath.Join(dir, "fakeserver"),
	}
}

// progress tells the person running the report what is happening.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
