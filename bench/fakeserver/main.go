// Command fakeserver runs the AWS fakes of internal/fakeaws in a process of
// their own, for benchmarks that must measure the proxy without the fakes
// sharing its heap and goroutines. It prints one JSON line with the
// endpoints (bench.URLs), serves a control endpoint (POST /latency?d=100ms,
// GET /stats), and exits when its standard input closes.
package main

import (
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/centralops/aws-mcp-multi-account/bench"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

func main() {
	accts := flag.Int("accounts", 10, "numbered member accounts")
	org := flag.Int("org", 0, "size of the generated organization (0: none)")
	latency := flag.Duration("latency", 0, "upstream tools/call latency")
	payload := flag.Int("payload", 0, "bytes of every tools/call answer's text (0: the fake's own answers)")
	useTLS := flag.Bool("tls", false, "serve over TLS with HTTP/2, as the real endpoints do")
	ramp := flag.Duration("ramp", 0, "accounts' latencies rise by this much in even steps, the last -tail accounts all at the top (a fan-out whose last several accounts finish within the same millisecond)")
	tail := flag.Int("tail", 8, "with -ramp: accounts that answer together at the end")
	taskAfter := flag.Duration("task-after", fakeaws.DefaultTaskAfter, "a script running longer answers with a task to poll; a shorter one is held until it ends")
	taskWait := flag.Float64("task-wait", fakeaws.DefaultTaskWait, "recommended_wait_seconds of task answers")
	flag.Parse()

	fakes := bench.StartInProcess(bench.FakeOptions{Accounts: *accts, Org: *org, Payload: *payload})
	defer fakes.Close()
	fakes.SetLatency(*latency)
	fakes.Stack.MCP.SetScriptTasks(*taskAfter, *taskWait)
	if *ramp > 0 {
		members := fakes.Accounts()
		steps := max(1, len(members)-*tail)
		for i, a := range members {
			fakes.Stack.MCP.SetLatency(a.ID, *latency+*ramp*time.Duration(min(i, steps))/time.Duration(steps))
		}
	}

	control := httptest.NewServer(controlHandler(fakes))
	defer control.Close()

	urls := fakes.URLs()
	urls.Control = control.URL
	if *useTLS {
		var closeTLS func()
		urls, closeTLS = serveTLS(fakes, urls)
		defer closeTLS()
	}
	line, _ := json.Marshal(urls)
	fmt.Println(string(line))

	io.Copy(io.Discard, os.Stdin)
}

// controlHandler serves the control endpoint of the fakes.
func controlHandler(fakes *bench.InProcess) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /latency", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.FormValue("d"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fakes.SetLatency(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		st, _ := fakes.Stats()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
	return mux
}

// serveTLS serves the fakes' handlers again over TLS and returns the
// endpoints rewritten to them, with the certificate to trust. The upstream
// negotiates HTTP/2; STS and Organizations speak HTTP/1.1 only, as the
// query-protocol AWS endpoints do.
func serveTLS(fakes *bench.InProcess, urls bench.URLs) (bench.URLs, func()) {
	var servers []*httptest.Server
	start := func(h http.Handler, h2 bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = h2
		// Handshakes a client abandons (HTTP/2 dial races) are not news.
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		servers = append(servers, srv)
		return srv
	}
	sts, mcp, org := start(fakes.Stack.STS, false), start(fakes.Stack.MCP, true), start(fakes.Stack.Org, false)
	urls.STS, urls.MCP, urls.Org = sts.URL, mcp.URL+"/mcp", org.URL
	urls.CACert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sts.Certificate().Raw}))
	env := make([]string, 0, len(urls.Env))
	for _, e := range urls.Env {
		switch {
		case strings.HasPrefix(e, "AWS_ENDPOINT_URL_STS="):
			e = "AWS_ENDPOINT_URL_STS=" + urls.STS
		case strings.HasPrefix(e, "AWS_ENDPOINT_URL_ORGANIZATIONS="):
			e = "AWS_ENDPOINT_URL_ORGANIZATIONS=" + urls.Org
		case strings.HasPrefix(e, "AWS_MCP_ENDPOINT="):
			e = "AWS_MCP_ENDPOINT=" + urls.MCP
		}
		env = append(env, e)
	}
	urls.Env = env
	return urls, func() {
		for _, srv := range servers {
			srv.Close()
		}
	}
}
