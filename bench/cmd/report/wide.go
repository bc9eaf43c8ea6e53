package main

import (
	"strconv"

	"github.com/centralops/aws-mcp-multi-account/bench"
)

// wideRuns measures 10,000 accounts of 12-second scripts through the
// stdio binary at its defaults (issue 41), with the upstream answering a
// task to poll (as the AWS MCP Server documents for long scripts) and
// holding every call for the whole script, over TLS with HTTP/2 and over
// plain HTTP/1.1; then what calls in flight cost at three widths.
func wideRuns(dir string, res *Results) error {
	for _, run := range []struct{ tls, held bool }{{true, false}, {true, true}, {false, false}, {false, true}} {
		args := []string{"-scenario", "scripts", "-n", "10000", "-script", "12s", "-floor", "-tls=" + strconv.FormatBool(run.tls)}
		if run.held {
			args = append(args, "-task-after", "60s")
		}
		progress("10,000 accounts × 12 s scripts, TLS %t, held %t, then the same-run floor", run.tls, run.held)
		r := &bench.WideScriptsResult{}
		if err := child(dir, r, args...); err != nil {
			return err
		}
		res.Scripts = append(res.Scripts, r)
	}
	progress("10,000 AssumeRole calls against the fake STS alone (TLS)")
	res.STS = &bench.STSResult{}
	if err := child(dir, res.STS, "-scenario", "sts", "-n", "10000", "-tls=true"); err != nil {
		return err
	}
	for _, tls := range []bool{true, false} {
		for _, n := range []int{1000, 5000, 10000} {
			progress("memory of %d calls in flight, TLS %t", n, tls)
			r := &bench.InFlightResult{}
			if err := child(dir, r, "-scenario", "inflight", "-n", itoa(n), "-tls="+strconv.FormatBool(tls)); err != nil {
				return err
			}
			res.InFlight = append(res.InFlight, r)
		}
	}
	return nil
}

// renderWide shows the 10,000-account script runs and the memory of calls
// in flight.
func renderWide(p printer, r *Results) {
	if len(r.Scripts) > 0 {
		p("## 10,000 accounts of 12-second scripts (issue 41)")
		p("")
		p("`report -scenario scripts -n 10000 -script 12s -floor`: the stdio binary at its default settings (the accounts in a file, the fakes' certificate in AWS_CA_BUNDLE), one query_all of `aws___run_script` sleeping 12 s on every account, cold (10,000 AssumeRole and sessions) and warm right after, then the same-run floor: minimal hand-written clients sending the same signed calls to the same fake process, every account at once (AssumeRole 64 at a time), polling as recommended. *task*: the fake answers a script longer than 1 s with a task polled through `aws___get_tasks` (recommended wait 1 s), as the AWS MCP Server documents for long scripts; *held*: the fake holds every call for the whole script (`-task-after 60s`), each call in flight for 12 s. Targets: every account answered in the first reply, warm ≤ 24 s, cold ≤ 45 s, peak RSS ≤ 400 MB.")
		p("")
		p("| upstream | transport | cold s | warm s | answered cold / warm | peak RSS MiB (when) | floor cold s | floor warm s | upstream tool calls | most served at once |")
		p("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
		for _, s := range r.Scripts {
			p("| %s | %s | %.1f | %.1f | %d / %d of %d | %.0f (%s) | %.1f | %.1f | %d | %d |", heldName(s), transportName(s.TLS), s.ColdS, s.WarmS,
				s.AnsweredCold, s.AnsweredWarm, s.N, s.PeakRSSMiB, s.PeakAt, s.FloorColdS, s.FloorWarmS, s.Fake.ToolCalls, s.Fake.MaxInflight)
		}
		p("")
		if s := r.STS; s != nil {
			p("The cold runs' first step measured apart (`report -scenario sts -n 10000 -tls`): the credential store assumes %d roles against the fake STS alone, %d in flight, in %.1f s: %.0f a second.", s.N, s.InFlight, s.WallS, s.PerSecond)
			p("")
		}
	}
	if len(r.InFlight) > 0 {
		p("### What a call in flight costs")
		p("")
		p("`report -scenario inflight -n N`: the core in process (app.Build, --max-in-flight N), a first fan-out over N accounts opens every credential and session, then the fake holds every tools/call; heap in use and goroutine stacks are read after two collections, before and while the N calls are held.")
		p("")
		p("| calls in flight | transport | heap KiB / call | stacks KiB / call | goroutines / call | KiB / account kept between calls |")
		p("|---:|---|---:|---:|---:|---:|")
		for _, f := range r.InFlight {
			p("| %d | %s | %.1f | %.1f | %.2f | %.1f |", f.Width, transportName(f.TLS), f.HeapPerCallKiB, f.StackPerCallKiB, f.GoroutinesPerCall, f.SessionKiB)
		}
		p("")
	}
}

func heldName(s *bench.WideScriptsResult) string {
	if s.Held {
		return "held"
	}
	return "task"
}

func transportName(tls bool) string {
	if tls {
		return "TLS, HTTP/2"
	}
	return "HTTP/1.1"
}
