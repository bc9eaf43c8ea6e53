package main

import (
	"fmt"

	"github.com/centralops/aws-mcp-multi-account/bench"
)

func renderTargets(p printer, r *Results) {
	p("## Targets (issue #7, #10)")
	p("")
	p("| target | measured | verdict |")
	p("|---|---|---|")
	if f := findFanout(r, 100, 16); f != nil {
		p("| N=100, C=16: wall ≤ 1.15 × ideal (%.0f ms) | cold %.0f ms = %.2f×; warm %.0f ms = %.2f× | %s |",
			1.15*f.IdealMS, f.ColdMS, f.ColdMS/f.IdealMS, f.WarmMS, f.WarmMS/f.IdealMS, check(f.ColdMS <= 1.15*f.IdealMS))
		if seq, measured := sequentialMS(r, 100); seq > 0 {
			p("| N=100, C=16: ≥ 12× faster than sequential | sequential %.0f ms (%s) / cold %.0f ms = %.1f× | %s |",
				seq, kind(measured), f.ColdMS, seq/f.ColdMS, check(seq/f.ColdMS >= 12))
		}
	}
	if f := findFanout(r, 2000, 64); f != nil {
		p("| N=2000, C=64: wall ≤ 1.25 × ideal (%.0f ms) | cold %.0f ms = %.2f×; warm %.0f ms = %.2f× | %s |",
			1.25*f.IdealMS, f.ColdMS, f.ColdMS/f.IdealMS, f.WarmMS, f.WarmMS/f.IdealMS, check(f.ColdMS <= 1.25*f.IdealMS))
		p("| N=2000, C=64: RSS peak ≤ 150 MB (%.0f MiB) | %.1f MiB (core process, VmHWM) | %s |",
			mbToMiB(150), f.RSSPeakMiB, check(f.RSSPeakMiB <= mbToMiB(150)))
		p("| N=2000, C=64: goroutines return to baseline | before %d, peak %d, after %d (idle keep-alive conns open), %d after closing idle conns | %s |",
			f.GoroutinesBefore, f.GoroutinesPeak, f.GoroutinesAfter, f.GoroutinesIdleClosed, check(f.GoroutinesIdleClosed <= f.GoroutinesBefore))
	}
	for _, s := range r.Stdio {
		if s.N == 2000 && s.C == 64 {
			p("| N=2000, C=64 through the stdio binary: RSS peak ≤ 150 MB | %.1f MiB (VmHWM of the server process) | %s |",
				s.PeakRSSMiB, check(s.PeakRSSMiB <= mbToMiB(150)))
		}
	}
	for _, l := range r.Large {
		s := l.Stdio
		p("| beyond the issue's scenario: N=%d, C=%d with %d KiB answers through the stdio binary, wall ≤ 1.25 × ideal and RSS ≤ 150 MB | cold %.0f ms = %.2f×, warm %.0f ms = %.2f×; server RSS peak %.0f MiB | %s |",
			s.N, s.C, l.Payload>>10, s.ColdMS, s.ColdMS/s.IdealMS, s.WarmMS, s.WarmMS/s.IdealMS, s.PeakRSSMiB,
			check(s.ColdMS <= 1.25*s.IdealMS && s.PeakRSSMiB <= mbToMiB(150)))
	}
	allN := true
	for _, f := range r.Fanout {
		allN = allN && f.AssumeRole == f.N && f.Failed == 0 && f.Succeeded == f.N && f.AssumeRoleWarm == 0
	}
	p("| AssumeRole calls = N (cold), 0 (warm), every account succeeds | every scenario | %s |", check(allN))
	if o := findOverhead(r, bench.ModeService); o != nil {
		p("| query overhead p99 ≤ 2 ms | core (Service.Query, fake included): p50 %.2f ms, p99 %.2f ms | %s |", o.P50us/1000, o.P99us/1000, check(o.P99us <= 2000))
	}
	if o := findOverhead(r, bench.ModeStdio); o != nil {
		p("| query over stdio p99 ≤ 2 ms (stricter reading: whole host round trip) | p50 %.2f ms, p99 %.2f ms | %s |", o.P50us/1000, o.P99us/1000, check(o.P99us <= 2000))
	}
	p("| start-up to first tools/list ≤ 50 ms | median %.1f ms (min %.1f, max %.1f) | %s |", r.Startup.Median, r.Startup.Min, r.Startup.Max, check(r.Startup.Median <= 50))
	p("| RSS idle ≤ 30 MB (%.1f MiB) | median %.1f MiB | %s |", mbToMiB(30), r.IdleRSS.Median, check(r.IdleRSS.Median <= mbToMiB(30)))
	p("| Lambda: start to first poll ≤ 100 ms | median %.1f ms (min %.1f, max %.1f) | %s |", r.Lambda.Median, r.Lambda.Min, r.Lambda.Max, check(r.Lambda.Median <= 100))
	p("| Organizations: start to complete list_accounts of 320 accounts ≤ 1.5 s | median %.0f ms (min %.0f, max %.0f), %d accounts, %d Organizations calls | %s |",
		r.Org.Median, r.Org.Min, r.Org.Max, r.OrgCount, r.OrgCalls, check(r.Org.Median <= 1500 && r.OrgCount == 320))
	p("")
}

func kind(measured bool) string {
	if measured {
		return "measured"
	}
	return "*extrapolated*"
}

func renderFanout(p printer, r *Results) {
	p("## query_all fan-out (upstream latency 100 ms)")
	p("")
	p("Wall time of Service.QueryAll over N accounts at concurrency C, against the ideal ceil(N/C) × 100 ms and the sequential baseline.")
	p("")
	p("| N | C | ideal ms | cold ms | cold ×ideal | warm ms | warm ×ideal | sequential ms | speed-up (cold) | speed-up (warm) |")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, f := range r.Fanout {
		seq, measured := sequentialMS(r, f.N)
		seqText, up, upWarm := "—", "—", "—"
		if seq > 0 {
			seqText = fmt.Sprintf("%.0f", seq)
			if !measured {
				seqText += " *extrapolated*"
			}
			up, upWarm = fmt.Sprintf("%.1f×", seq/f.ColdMS), fmt.Sprintf("%.1f×", seq/f.WarmMS)
		}
		p("| %d | %d | %.0f | %.0f | %.2f | %.0f | %.2f | %s | %s | %s |", f.N, f.C, f.IdealMS, f.ColdMS, f.ColdMS/f.IdealMS,
			f.WarmMS, f.WarmMS/f.IdealMS, seqText, up, upWarm)
	}
	p("")
	p("Calls, sessions, connections and resources of the same runs (the scenario's process holds only the proxy core):")
	p("")
	p("| N | C | AssumeRole cold / warm | sessions (pool / upstream) | max in flight | dials STS / upstream | goroutines before / peak / after / idle-closed | RSS before / peak / after MiB | CPU ms cold / warm | alloc MiB cold / warm |")
	p("|---:|---:|---|---|---:|---|---|---|---|---|")
	for _, f := range r.Fanout {
		p("| %d | %d | %d / %d | %d / %d | %d | %d / %d | %d / %d / %d / %d | %.1f / %.1f / %.1f | %.0f / %.0f | %.1f / %.1f |", f.N, f.C,
			f.AssumeRole, f.AssumeRoleWarm, f.PoolSessions, f.UpstreamSessions, f.MaxInflight, f.STSConns, f.MCPConns,
			f.GoroutinesBefore, f.GoroutinesPeak, f.GoroutinesAfter, f.GoroutinesIdleClosed,
			f.RSSBeforeMiB, f.RSSPeakMiB, f.RSSAfterMiB, f.CPUColdMS, f.CPUWarmMS, f.AllocColdMiB, f.AllocWarmMiB)
	}
	p("")
	p("Sequential baseline (one account after the other, each cold):")
	p("")
	p("| accounts measured | total ms | per account ms |")
	p("|---:|---:|---:|")
	for _, s := range r.Sequential {
		p("| %d | %.0f | %.1f |", s.Measured, s.TotalMS, s.PerAccountMS)
	}
	p("")
	if len(r.Stdio) > 0 {
		p("End to end through the built stdio server (query_all tool called by the mcp-go client; adds the tool layer's JSON and text rendering and stdio):")
		p("")
		p("| N | C | ideal ms | cold ms | cold ×ideal | warm ms | warm ×ideal | response KiB | succeeded | server RSS idle / peak / after MiB |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, s := range r.Stdio {
			p("| %d | %d | %.0f | %.0f | %.2f | %.0f | %.2f | %.0f | %d | %.1f / %.1f / %.1f |", s.N, s.C, s.IdealMS, s.ColdMS, s.ColdMS/s.IdealMS,
				s.WarmMS, s.WarmMS/s.IdealMS, s.ResponseKiB, s.Succeeded, s.IdleRSSMiB, s.PeakRSSMiB, s.AfterRSSMiB)
		}
		p("")
	}
}

func renderOverhead(p printer, r *Results) {
	p("## Per-call overhead of query (upstream latency 0 ms)")
	p("")
	p("| path | calls | p50 ms | p90 ms | p99 ms | max ms |")
	p("|---|---:|---:|---:|---:|---:|")
	for _, o := range r.Overhead {
		p("| %s | %d | %.3f | %.3f | %.3f | %.3f |", modeName(o.Mode), o.Calls, o.P50us/1000, o.P90us/1000, o.P99us/1000, o.MaxUs/1000)
	}
	d, s, io := findOverhead(r, bench.ModeDirect), findOverhead(r, bench.ModeService), findOverhead(r, bench.ModeStdio)
	if d != nil && s != nil && io != nil {
		p("")
		p("What our code adds over the direct floor at p50: %.3f ms in the core, %.3f ms for the whole stdio path (MCP server and client, JSON-RPC over pipes, one more process). At p99 the core and the floor are %.3f and %.3f ms: the tail is this machine's scheduling (three processes on two vCPUs), not the proxy.",
			(s.P50us-d.P50us)/1000, (io.P50us-d.P50us)/1000, s.P99us/1000, d.P99us/1000)
	}
	p("")
}

func modeName(m bench.OverheadMode) string {
	switch m {
	case bench.ModeDirect:
		return "direct (signed tools/call, no proxy: the floor)"
	case bench.ModeService:
		return "service (Service.Query in-process)"
	case bench.ModeStdio:
		return "stdio (query tool of the binary, mcp-go client)"
	case bench.ModeHTTP:
		return "http (query tool of serve --http, mcp-go Streamable HTTP client, bearer token verified per request)"
	}
	return string(m)
}

func renderProcess(p printer, r *Results) {
	p("## Process start-up")
	p("")
	p("| measurement | runs | median | min | max |")
	p("|---|---:|---:|---:|---:|")
	p("| stdio server: process start → first tools/list answer (ms) | %d | %.1f | %.1f | %.1f |", len(r.Startup.Runs), r.Startup.Median, r.Startup.Min, r.Startup.Max)
	p("| stdio server: RSS idle after start-up (MiB) | %d | %.1f | %.1f | %.1f |", len(r.IdleRSS.Runs), r.IdleRSS.Median, r.IdleRSS.Min, r.IdleRSS.Max)
	p("| Lambda build: process start → first /runtime/invocation/next (ms) | %d | %.1f | %.1f | %.1f |", len(r.Lambda.Runs), r.Lambda.Median, r.Lambda.Min, r.Lambda.Max)
	p("| Organizations: process start → list_accounts of %d accounts (ms) | %d | %.0f | %.0f | %.0f |", r.OrgCount, len(r.Org.Runs), r.Org.Median, r.Org.Min, r.Org.Max)
	p("")
	p("Organizations discovery made %d API calls per start (GenerateOrg(%d): ListRoots, ListOrganizationalUnitsForParent and ListAccountsForParent pages of 20, and ListTagsForResource per account).", r.OrgCalls, r.OrgSize)
	p("")
}

func renderProfile(p printer, prof *Profile) {
	if prof == nil {
		return
	}
	f := prof.Result
	p("## Profile: query_all N=%d, C=%d", prof.N, prof.C)
	p("")
	if t := prof.Tool; t != nil {
		p("Tool layer with %d KiB answers in this profiled process: core (warm) %.0f ms, handler %.0f ms, encode %.0f ms; response %.1f MiB.", prof.Payload>>10, t.CoreMS, t.HandlerMS, t.EncodeMS, t.ResponseMiB)
		p("")
	}
	p("This profiled run: cold %.0f ms (%.2f× ideal), warm %.0f ms; CPU %.0f ms cold, %.0f ms warm (%.2f / %.2f ms per account); allocated %.1f MiB cold, %.1f MiB warm (%.1f / %.1f KiB per account).",
		f.ColdMS, f.ColdMS/f.IdealMS, f.WarmMS, f.CPUColdMS, f.CPUWarmMS, f.CPUColdMS/float64(f.N), f.CPUWarmMS/float64(f.N),
		f.AllocColdMiB, f.AllocWarmMiB, f.AllocColdMiB*1024/float64(f.N), f.AllocWarmMiB*1024/float64(f.N))
	p("")
	for _, t := range prof.Tables {
		p("### %s", t.Title)
		p("")
		p("`%s`", t.Command)
		p("")
		p("```")
		p("%s", t.Text)
		p("```")
		p("")
	}
}
