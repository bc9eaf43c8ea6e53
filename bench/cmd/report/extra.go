package main

import "github.com/centralops/aws-mcp-multi-account/bench"

// renderTLS shows the TLS runs and the effect of sizing the STS pool.
func renderTLS(p printer, r *Results) {
	if len(r.TLS) == 0 {
		return
	}
	p("## query_all over TLS, and the STS connection pool")
	p("")
	p("The same cold and warm query_all (N=%d, C=64), with the fakes serving TLS: the upstream negotiates HTTP/2 (as the proxy's transport asks), STS speaks HTTP/1.1 only, like the AWS query-protocol endpoints. Runs alternate the STS client's default pool (the SDK keeps 10 idle connections per host, what app.Build got before it sized the pool) with one sized for the concurrency (64, what the recommendation in the findings would give). Every dial here is a TLS handshake.", r.TLS[0].N)
	p("")
	p("| STS idle conns | cold ms | cold ×ideal | warm ms | STS dials | upstream dials | CPU ms cold / warm | RSS peak MiB | goroutines peak |")
	p("|---|---:|---:|---:|---:|---:|---|---:|---:|")
	var cold = map[int][]float64{}
	var cpu = map[int][]float64{}
	var dials = map[int][]float64{}
	for _, f := range r.TLS {
		p("| %s | %.0f | %.2f | %.0f | %d | %d | %.0f / %.0f | %.1f | %d |", idleName(f.STSIdleConns), f.ColdMS, f.ColdMS/f.IdealMS, f.WarmMS,
			f.STSConns, f.MCPConns, f.CPUColdMS, f.CPUWarmMS, f.RSSPeakMiB, f.GoroutinesPeak)
		cold[f.STSIdleConns] = append(cold[f.STSIdleConns], f.ColdMS)
		cpu[f.STSIdleConns] = append(cpu[f.STSIdleConns], f.CPUColdMS)
		dials[f.STSIdleConns] = append(dials[f.STSIdleConns], float64(f.STSConns))
	}
	p("")
	p("Medians: default pool cold %.0f ms, CPU %.0f ms, %.0f STS dials; sized pool cold %.0f ms, CPU %.0f ms, %.0f STS dials.",
		bench.Median(cold[0]), bench.Median(cpu[0]), bench.Median(dials[0]), bench.Median(cold[64]), bench.Median(cpu[64]), bench.Median(dials[64]))
	p("")
}

func idleName(n int) string {
	if n == 10 {
		return "10 (SDK default)"
	}
	return itoa(n)
}

// renderLarge shows query_all with large upstream answers.
func renderLarge(p printer, r *Results) {
	if len(r.Large) == 0 {
		return
	}
	p("## Large upstream answers (the JSON path)")
	p("")
	p("get-caller-identity answers are ~0.3 KiB. Real answers are often much larger (a bucket or instance listing is easily 4–16 KiB per account), and every byte of them travels through the proxy's JSON path: decoded by the MCP client transport, decoded again for isError, decoded a third time for the readable text, then encoded twice into the tools/call result (structuredContent and the text, escaped) and re-compacted by encoding/json. Same N=%d, C=64, 100 ms, upstream answers of the given size.", r.Large[0].Fanout.N)
	p("")
	p("| answer size | core cold ms / ×ideal | core warm ms | core CPU ms warm | core alloc MiB warm | core RSS peak MiB | tool handler ms (fan-out + text) | encode ms | encode alloc MiB | response MiB | stdio cold ms / ×ideal | stdio warm ms / ×ideal | server RSS peak MiB |")
	p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
	for _, l := range r.Large {
		f, t, s := l.Fanout, l.Tool, l.Stdio
		p("| %d KiB | %.0f / %.2f | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f | %.1f | %.0f / %.2f | %.0f / %.2f | %.0f |", l.Payload>>10,
			f.ColdMS, f.ColdMS/f.IdealMS, f.WarmMS, f.CPUWarmMS, f.AllocWarmMiB, f.RSSPeakMiB,
			t.HandlerMS, t.EncodeMS, t.EncodeAllocMiB, t.ResponseMiB,
			s.ColdMS, s.ColdMS/s.IdealMS, s.WarmMS, s.WarmMS/s.IdealMS, s.PeakRSSMiB)
	}
	p("")
	p("*core* is Service.QueryAll in-process; *tool handler* is the query_all MCP tool handler in-process (the fan-out plus the readable text), warm; *encode* is json.Marshal of the JSON-RPC response as the mcp-go stdio server does it; *stdio* is the built binary called over stdio by the mcp-go client (the client's own decoding runs on the same cores).")
	p("")
}

// renderInit shows what the stdio binary spends before main.
func renderInit(p printer, r *Results) {
	if len(r.Init.Runs) == 0 {
		return
	}
	p("Where start-up goes: `aws-mcp-multi-account version` (package init and runtime start, no work) takes %.1f ms (median of %d; min %.1f); GODEBUG=inittrace=1 puts the end of package init at %.1f ms (median). Most expensive package inits (one traced run):",
		r.Init.Median, len(r.Init.Runs), r.Init.Min, r.InitDone.Median)
	p("")
	p("| package | init ms | bytes allocated |")
	p("|---|---:|---:|")
	for _, t := range r.InitTop {
		p("| %s | %.2f | %d |", t.Package, t.MS, t.Bytes)
	}
	p("")
}
