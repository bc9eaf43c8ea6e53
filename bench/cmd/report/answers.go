package main

import (
	"github.com/centralops/aws-mcp-multi-account/bench"
)

// renderAnswerTargets is the verdict on the targets of answers an agent
// can use, the hardening and the team server.
func renderAnswerTargets(p printer, r *Results) {
	p("## Targets (issues #13, #14, #15, #32)")
	p("")
	p("| target | measured | verdict |")
	p("|---|---|---|")
	if b := r.Budget; b != nil {
		p("| %d accounts × DescribeInstances (%.0f KiB answered in all), default query_all: tool result ≤ 96 KiB, text ≤ 32 KiB | %.1f KiB on the wire (client re-encoding), text %.1f KiB | %s |",
			b.N, b.UpstreamKiB, b.WireKiB, b.TextKiB, check(b.WireKiB <= 96 && b.TextKiB <= 32))
		p("| … every account named in the text with its status; the accounts without instances one group | %d of %d named; %d of %d empty accounts in one group | %s |",
			b.Named, b.N, b.EmptyGroup, b.Empty, check(b.Named == b.N && b.EmptyGroup == b.Empty))
		p("| … a second projection through get_result: 0 upstream calls, < 50 ms | %d upstream calls; p50 %.1f ms, p90 %.1f ms, max %.1f ms (20 runs, over stdio) | %s |",
			b.ReprojectCalls, b.Reproject.P50, b.Reproject.P90, b.Reproject.Max, check(b.ReprojectCalls == 0 && b.Reproject.P90 < 50))
		p("| … jmespath Reservations[].Instances[].InstanceId: every instance id in the text | %s with max_bytes 64 KiB (text %.1f KiB); not at the default 32 KiB, where the ids alone (19 bytes each) take more | %s with max_bytes; **missed** at the default budget |",
			yesNo(b.ProjectedIDs), b.ProjectedKiB, check(b.ProjectedIDs))
	}
	for _, m := range r.Memory {
		capMiB := 256.0
		if m.Env != "" {
			capMiB = 16
		}
		p("| %d accounts × 16 KiB through the stdio binary (store %s): RSS ≤ store cap + 100 MB, text within 32 KiB naming every account | RSS peak %.0f MiB (bound %.0f MiB); text %.1f KiB naming %d of %d | %s |",
			m.N, storeName(m.Env), m.PeakRSSMiB, capMiB+mbToMiB(100), m.TextKiB, m.Named, m.N, check(m.PeakRSSMiB <= capMiB+mbToMiB(100) && m.TextKiB <= 32 && m.Named == m.N))
	}
	for _, s := range r.Stdio {
		if s.N == 2000 && s.C == 64 {
			p("| the 2,000-account, 100 ms fan-out through the stdio binary stays ≤ 1.25 × ideal warm | warm %.0f ms = %.2f× (cold %.0f ms = %.2f×) | %s |",
				s.WarmMS, s.WarmMS/s.IdealMS, s.ColdMS, s.ColdMS/s.IdealMS, check(s.WarmMS <= 1.25*s.IdealMS))
		}
	}
	if w := r.Wide; w != nil {
		p("| %d accounts × %.0f ms at concurrency %d: warm ≤ 1.25 × ideal (%.1f s), RSS ≤ 300 MB, beside the same-run floor (minimal direct clients, no proxy) | warm %.1f s = %.2f× (cold %.1f s); floor warm %.1f s = %.2f× (cold %.1f s): the proxy takes %.3f× the floor; RSS peak %.0f MiB | %s |",
			w.N, w.LatencyMS, w.C, w.IdealMS/1000, w.WarmMS/1000, w.WarmMS/w.IdealMS, w.ColdMS/1000, w.FloorWarmMS/1000, w.FloorWarmMS/w.IdealMS, w.FloorColdMS/1000,
			w.WarmMS/w.FloorWarmMS, w.RSSPeakMiB, check(w.WarmMS <= 1.25*w.IdealMS && w.RSSPeakMiB <= mbToMiB(300)))
	}
	for _, l := range r.Lambdas {
		if l.PayloadKB > 0 {
			p("| Lambda, %d accounts × %d KiB: the answer within the 256 KiB budget, every account in it; a new process answers get_result from S3 | %d bytes, %d succeeded, %d with data omitted, %d objects; other process: %s | %s |",
				l.N, l.PayloadKB, l.ResponseBytes, l.Succeeded, l.Omitted, l.Objects, yesNo(l.OtherGetResult), check(l.ResponseBytes <= 256<<10 && l.Succeeded == l.N && l.OtherGetResult))
		} else {
			p("| Lambda, %d accounts × %.0f ms with the template's defaults (%s, 28 s budget): every account answered within the budget | %d answered, %d timed out in %.1f s at concurrency %d (max in flight upstream %d, AssumeRole %d) | %s |",
				l.N, l.LatencyMS, l.Env, l.Succeeded, l.TimedOut, l.WallMS/1000, l.Concurrency, l.MaxInflight, l.AssumeRole, check(l.Succeeded == l.N && l.WallMS <= 28000))
		}
	}
	if h, s := findOverhead(r, bench.ModeHTTP), findOverhead(r, bench.ModeStdio); h != nil && s != nil {
		p("| team server: added latency of the HTTP path over stdio for one query, p99 ≤ 2 ms | HTTP (bearer token verified per request) p99 %.2f ms − stdio p99 %.2f ms = %.2f ms (p50 %.2f − %.2f = %.2f ms) | %s |",
			h.P99us/1000, s.P99us/1000, (h.P99us-s.P99us)/1000, h.P50us/1000, s.P50us/1000, (h.P50us-s.P50us)/1000, check(h.P99us-s.P99us <= 2000))
	}
	p("")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func storeName(env string) string {
	if env == "" {
		return "default, 256 MiB"
	}
	return "capped at 16 MiB"
}

// renderAnswers details the scenarios of answers an agent can use.
func renderAnswers(p printer, r *Results) {
	b := r.Budget
	if b == nil {
		return
	}
	p("## Answers an agent can use")
	p("")
	p("The stdio binary, query_all of `aws ec2 describe-instances` over %d accounts (each answering 0 to 11 instances of about 1.4 KB, pretty-printed as the AWS CLI does; %d answer none), concurrency %d, upstream latency 100 ms, default result budget (32 KiB of text).", b.N, b.Empty, b.C)
	p("")
	p("| measurement | value |")
	p("|---|---:|")
	p("| answered upstream, in all (KiB) | %.0f |", b.UpstreamKiB)
	p("| tool result, re-encoded by the client (KiB) | %.1f |", b.WireKiB)
	p("| text (KiB) | %.1f |", b.TextKiB)
	p("| accounts named in the text | %d of %d |", b.Named, b.N)
	p("| entries whose data is left out (data_omitted) | %d |", b.Omitted)
	p("| query_all wall time, cold (ms) | %.0f |", b.ColdMS)
	p("| get_result re-projection of every stored answer, p50 / p90 / max (ms, 20 runs) | %.1f / %.1f / %.1f |", b.Reproject.P50, b.Reproject.P90, b.Reproject.Max)
	p("| upstream calls made by the 20 re-projections | %d |", b.ReprojectCalls)
	p("| get_result of one account's whole answer (ms) | %.1f |", b.PageMS)
	p("| text of query_all with jmespath `Reservations[].Instances[].InstanceId`, max_bytes 64 KiB (KiB) | %.1f |", b.ProjectedKiB)
	p("")
	if len(r.Memory) > 0 {
		p("Large answers through the stdio binary: N=%d, C=64, 16 KiB answers that differ per account (so nothing groups), 100 ms latency.", r.Memory[0].N)
		p("")
		p("| result store | cold ms / ×ideal | warm ms / ×ideal | tool result KiB | text KiB | accounts named | server RSS idle / peak / after MiB |")
		p("|---|---|---|---:|---:|---:|---|")
		for _, m := range r.Memory {
			p("| %s | %.0f / %.2f | %.0f / %.2f | %.1f | %.1f | %d of %d | %.1f / %.1f / %.1f |", storeName(m.Env), m.ColdMS, m.ColdMS/m.IdealMS,
				m.WarmMS, m.WarmMS/m.IdealMS, m.ResponseKiB, m.TextKiB, m.Named, m.N, m.IdleRSSMiB, m.PeakRSSMiB, m.AfterRSSMiB)
		}
		p("")
	}
	if len(r.Lambdas) > 0 {
		p("The Lambda bridge (built bootstrap, fake Runtime API, one invocation of query_all, a 28 s invocation budget by default):")
		p("")
		p("| accounts | latency ms | answer KiB | environment | wall s | answered | timed out | concurrency reached | max in flight | AssumeRole | answer bytes | data omitted | bucket objects |")
		p("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, l := range r.Lambdas {
			p("| %d | %.0f | %d | `%s` | %.1f | %d | %d | %d | %d | %d | %d | %d | %d |", l.N, l.LatencyMS, l.PayloadKB, l.Env, l.WallMS/1000,
				l.Succeeded, l.TimedOut, l.Concurrency, l.MaxInflight, l.AssumeRole, l.ResponseBytes, l.Omitted, l.Objects)
		}
		p("")
	}
}
