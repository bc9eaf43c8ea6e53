package main

import "github.com/centralops/aws-mcp-multi-account/bench"

// renderBeforeAfter compares the key numbers with an earlier run.
func renderBeforeAfter(p printer, before, after *Results) {
	p("## Before / after")
	p("")
	p("Before: the run of %s (commit %s); after: this run.", before.Machine.Date, before.Machine.Commit)
	p("")
	p("| metric | before | after |")
	p("|---|---:|---:|")
	row := func(name, format string, b, a float64) {
		p("| %s | "+format+" | "+format+" |", name, b, a)
	}
	for _, nc := range [][2]int{{100, 16}, {2000, 64}} {
		b, a := findFanout(before, nc[0], nc[1]), findFanout(after, nc[0], nc[1])
		if b == nil || a == nil {
			continue
		}
		prefix := "query_all N=" + itoa(nc[0]) + " C=" + itoa(nc[1]) + ": "
		row(prefix+"cold ms", "%.0f", b.ColdMS, a.ColdMS)
		row(prefix+"warm ms", "%.0f", b.WarmMS, a.WarmMS)
		row(prefix+"CPU ms cold", "%.0f", b.CPUColdMS, a.CPUColdMS)
		row(prefix+"CPU ms warm", "%.0f", b.CPUWarmMS, a.CPUWarmMS)
		row(prefix+"alloc MiB cold", "%.1f", b.AllocColdMiB, a.AllocColdMiB)
		row(prefix+"RSS peak MiB", "%.1f", b.RSSPeakMiB, a.RSSPeakMiB)
		row(prefix+"STS dials", "%.0f", float64(b.STSConns), float64(a.STSConns))
	}
	for i := range min(len(before.Stdio), len(after.Stdio)) {
		b, a := before.Stdio[i], after.Stdio[i]
		if b.N != a.N || b.C != a.C {
			continue
		}
		prefix := "stdio query_all N=" + itoa(a.N) + " C=" + itoa(a.C) + ": "
		row(prefix+"cold ms", "%.0f", b.ColdMS, a.ColdMS)
		row(prefix+"warm ms", "%.0f", b.WarmMS, a.WarmMS)
		row(prefix+"server RSS peak MiB", "%.1f", b.PeakRSSMiB, a.PeakRSSMiB)
	}
	for _, bl := range before.Large {
		for _, al := range after.Large {
			if bl.Payload != al.Payload {
				continue
			}
			prefix := "large answers " + itoa(al.Payload>>10) + " KiB: "
			row(prefix+"tool handler ms", "%.0f", bl.Tool.HandlerMS, al.Tool.HandlerMS)
			row(prefix+"encode ms", "%.0f", bl.Tool.EncodeMS, al.Tool.EncodeMS)
			row(prefix+"encode alloc MiB", "%.0f", bl.Tool.EncodeAllocMiB, al.Tool.EncodeAllocMiB)
			row(prefix+"response MiB", "%.1f", bl.Tool.ResponseMiB, al.Tool.ResponseMiB)
			row(prefix+"stdio cold ms", "%.0f", bl.Stdio.ColdMS, al.Stdio.ColdMS)
			row(prefix+"stdio warm ms", "%.0f", bl.Stdio.WarmMS, al.Stdio.WarmMS)
			row(prefix+"server RSS peak MiB", "%.0f", bl.Stdio.PeakRSSMiB, al.Stdio.PeakRSSMiB)
		}
	}
	if len(before.TLS) > 0 && len(after.TLS) > 0 {
		// The product's own STS pool: the SDK default before (recorded as
		// 0), sized to the concurrency after.
		bc, bd := tlsMedians(before, 0)
		ac, ad := tlsMedians(after, 64)
		row("TLS N=2000 C=64, the product's STS pool (before: SDK default 10, after: sized to C): cold ms (median)", "%.0f", bc, ac)
		row("TLS N=2000 C=64, the product's STS pool: STS dials (median)", "%.0f", bd, ad)
	}
	for _, m := range []bench.OverheadMode{bench.ModeService, bench.ModeStdio} {
		b, a := findOverhead(before, m), findOverhead(after, m)
		if b != nil && a != nil {
			row("query "+string(m)+" p50 ms", "%.3f", b.P50us/1000, a.P50us/1000)
			row("query "+string(m)+" p99 ms", "%.3f", b.P99us/1000, a.P99us/1000)
		}
	}
	row("start-up to tools/list ms (median)", "%.1f", before.Startup.Median, after.Startup.Median)
	row("RSS idle MiB (median)", "%.1f", before.IdleRSS.Median, after.IdleRSS.Median)
	row("package init done ms (median)", "%.1f", before.InitDone.Median, after.InitDone.Median)
	row("Lambda start to first poll ms (median)", "%.1f", before.Lambda.Median, after.Lambda.Median)
	row("Organizations 320 accounts ms (median)", "%.0f", before.Org.Median, after.Org.Median)
	p("")
}

// tlsMedians returns the median cold wall time and STS dials of the TLS
// runs with the given STS pool setting.
func tlsMedians(r *Results, idle int) (coldMS, dials float64) {
	var cold, d []float64
	for _, f := range r.TLS {
		if f.STSIdleConns == idle {
			cold, d = append(cold, f.ColdMS), append(d, float64(f.STSConns))
		}
	}
	return bench.Median(cold), bench.Median(d)
}
