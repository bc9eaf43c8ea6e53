package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/bench"
)

// runScenario runs one child scenario and prints its result as JSON.
func runScenario(ctx context.Context, o options) error {
	bins := binaries(o.binDir)
	var out any
	var err error
	switch o.scenario {
	case "fanout":
		out, err = fanout(ctx, bins, o)
	case "sequential":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: o.n}, func(f bench.Fakes) (any, error) {
			return bench.RunSequential(ctx, f, Latency, 0)
		})
	case "overhead":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: 1}, func(f bench.Fakes) (any, error) {
			return bench.MeasureQuery(ctx, f, bench.OverheadMode(o.mode), bins.Server, 200, o.calls)
		})
	case "stdio":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: o.n, Payload: o.payload}, func(f bench.Fakes) (any, error) {
			return bench.MeasureStdioFanout(ctx, bins.Server, f, o.c, Latency, strings.Fields(o.env)...)
		})
	case "budget":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: o.n}, func(f bench.Fakes) (any, error) {
			return bench.MeasureBudget(ctx, bins.Server, f, o.c, Latency)
		})
	case "lambda":
		out, err = bench.MeasureLambda(ctx, bins.Bootstrap, o.n, o.latency, o.payload, o.bucket, strings.Fields(o.env)...)
	case "tool":
		out, err = toolLayer(ctx, bins, o)
	case "inflight":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: o.n, TLS: o.tls}, func(f bench.Fakes) (any, error) {
			return bench.MeasureInFlight(ctx, f, o.profileDir)
		})
	case "sts":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: o.n, TLS: o.tls}, func(f bench.Fakes) (any, error) {
			return bench.MeasureSTS(ctx, f)
		})
	case "scripts":
		out, err = withFakes(bins, bench.FakeOptions{Accounts: o.n, TLS: o.tls, TaskAfter: o.taskAfter}, func(f bench.Fakes) (any, error) {
			return bench.MeasureWideScripts(ctx, bins.Server, f, o.script, o.taskAfter > o.script, o.floor, strings.Fields(o.env)...)
		})
	default:
		err = fmt.Errorf("unknown scenario %q", o.scenario)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// withFakes runs fn against a fakeserver process.
func withFakes(bins *bench.Binaries, fo bench.FakeOptions, fn func(bench.Fakes) (any, error)) (any, error) {
	fakes, err := bench.StartProcess(bins.FakeServer, fo)
	if err != nil {
		return nil, err
	}
	defer fakes.Close()
	return fn(fakes)
}

// fanout runs one query_all scenario, with profiles when asked.
func fanout(ctx context.Context, bins *bench.Binaries, o options) (any, error) {
	return withFakes(bins, bench.FakeOptions{Accounts: o.n, Payload: o.payload, TLS: o.tls}, func(f bench.Fakes) (any, error) {
		opts := bench.FanoutOptions{C: o.c, Latency: Latency, Warm: o.warm, STSIdleConns: o.stsIdle, Floor: o.floor}
		if o.profileDir == "" {
			res, err := bench.RunFanout(ctx, f, opts)
			if res != nil {
				res.Payload = o.payload
			}
			return res, err
		}
		cold, err := os.Create(filepath.Join(o.profileDir, "cpu-cold.pprof"))
		if err != nil {
			return nil, err
		}
		defer cold.Close()
		warm, err := os.Create(filepath.Join(o.profileDir, "cpu-warm.pprof"))
		if err != nil {
			return nil, err
		}
		defer warm.Close()
		opts.ColdProfile, opts.WarmProfile = cold, warm
		res, err := bench.RunFanout(ctx, f, opts)
		if err != nil {
			return nil, err
		}
		allocs, err := os.Create(filepath.Join(o.profileDir, "allocs.pprof"))
		if err != nil {
			return nil, err
		}
		defer allocs.Close()
		return res, pprof.Lookup("allocs").WriteTo(allocs, 0)
	})
}

// toolLayer measures the query_all tool layer, with a CPU profile of the
// handler and encoding when asked.
func toolLayer(ctx context.Context, bins *bench.Binaries, o options) (any, error) {
	return withFakes(bins, bench.FakeOptions{Accounts: o.n, Payload: o.payload}, func(f bench.Fakes) (any, error) {
		if o.profileDir == "" {
			return bench.RunToolLayer(ctx, f, o.c, Latency, o.payload, nil)
		}
		prof, err := os.Create(filepath.Join(o.profileDir, "cpu-tool.pprof"))
		if err != nil {
			return nil, err
		}
		defer prof.Close()
		return bench.RunToolLayer(ctx, f, o.c, Latency, o.payload, prof)
	})
}
