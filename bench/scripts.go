package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// WideScriptsResult is a query_all of long scripts over every account of
// the fakes, through the built stdio server at its default settings: a
// cold run (every AssumeRole and session new) and a warm one right after,
// and the same-run floor of the fakes.
type WideScriptsResult struct {
	N       int     `json:"n"`
	ScriptS float64 `json:"script_s"`
	// TLS says the fakes served TLS, the upstream HTTP/2.
	TLS bool `json:"tls,omitempty"`
	// Held says the upstream held every call for the whole script instead
	// of answering with a task to poll.
	Held bool `json:"held,omitempty"`
	// Env is the extra environment of the server.
	Env string `json:"env,omitempty"`
	// ColdS and WarmS are the walls of the two query_all calls; Answered*
	// how many accounts their replies answered (succeeded).
	ColdS        float64 `json:"cold_s"`
	WarmS        float64 `json:"warm_s"`
	AnsweredCold int     `json:"answered_cold"`
	AnsweredWarm int     `json:"answered_warm"`
	// PeakRSSMiB is the server's VmHWM after both runs; PeakAt says when
	// its sampled RSS (every 250 ms) peaked: "cold" or "warm" and the
	// seconds into that run.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	PeakAt     string  `json:"peak_at,omitempty"`
	// FloorColdS and FloorWarmS are the same fan-out sent to the same fake
	// by minimal hand-written clients, every account at once: what the
	// fakes and this machine allow, the floor under the proxy's walls.
	FloorColdS float64 `json:"floor_cold_s,omitempty"`
	FloorWarmS float64 `json:"floor_warm_s,omitempty"`
	// Fake is what the fakes counted over both runs (and the floor's).
	Fake FakeStats `json:"fake"`
}

// ScriptCode is a run_script that sleeps for d, then asks STS who it is.
func ScriptCode(d time.Duration) string {
	return fmt.Sprintf("import asyncio\nawait asyncio.sleep(%d)\nresp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp", int(d.Seconds()))
}

// MeasureWideScripts runs query_all of a script of length script over
// every account of the fakes through the stdio server at binary (its
// default settings plus extra environment), cold then warm, then the floor
// when asked. The accounts go to the server in a file (10,000 of them are
// more than one environment variable may hold), and a TLS fake's
// certificate through AWS_CA_BUNDLE, as a user's own CA would.
func MeasureWideScripts(ctx context.Context, binary string, fakes Fakes, script time.Duration, held, floor bool, extra ...string) (*WideScriptsResult, error) {
	if err := fakes.SetLatency(0); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "amma-scripts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env, err := serverEnv(dir, fakes)
	if err != nil {
		return nil, err
	}
	env = append(append(env, "AWS_MCP_LOG_LEVEL=warn"), extra...)
	res := &WideScriptsResult{N: len(fakes.Accounts()), ScriptS: script.Seconds(), TLS: fakes.URLs().CACert != "", Held: held, Env: strings.Join(extra, " ")}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	srv, err := StartStdio(ctx, binary, env)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	args := Script(ScriptCode(script))
	var peak struct {
		sync.Mutex
		rss uint64
		at  string
	}
	for i, out := range []struct {
		wall     *float64
		answered *int
	}{{&res.ColdS, &res.AnsweredCold}, {&res.WarmS, &res.AnsweredWarm}} {
		start := time.Now()
		stop := make(chan struct{})
		var sampled sync.WaitGroup
		sampled.Go(func() {
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if rss, _, err := ProcStatus(srv.Pid()); err == nil {
					peak.Lock()
					if rss > peak.rss {
						peak.rss, peak.at = rss, fmt.Sprintf("%s at %.1f s", [2]string{"cold", "warm"}[i], time.Since(start).Seconds())
					}
					peak.Unlock()
				}
			}
		})
		r, err := srv.Call(ctx, "query_all", args)
		*out.wall = time.Since(start).Seconds()
		close(stop)
		sampled.Wait()
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		var body struct {
			Summary struct{ Succeeded int } `json:"summary"`
		}
		raw := r.RawStructuredContent
		if len(raw) == 0 {
			raw, _ = json.Marshal(r.StructuredContent)
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("run %d: summary: %w", i+1, err)
		}
		*out.answered = body.Summary.Succeeded
	}
	if _, hwm, err := ProcStatus(srv.Pid()); err == nil {
		res.PeakRSSMiB = MiB(hwm)
	}
	res.PeakAt = peak.at
	srv.Close()
	if floor {
		if res.FloorColdS, res.FloorWarmS, err = scriptFloor(ctx, fakes, script); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	res.Fake, err = fakes.Stats()
	return res, err
}

// serverEnv points a server process at the fakes, its accounts in a file
// in dir and the fakes' certificate, if any, in AWS_CA_BUNDLE.
func serverEnv(dir string, fakes Fakes) ([]string, error) {
	urls := fakes.URLs()
	list, _ := json.Marshal(fakes.Accounts())
	file := filepath.Join(dir, "accounts.json")
	if err := os.WriteFile(file, list, 0o600); err != nil {
		return nil, err
	}
	env := append(append([]string{}, urls.Env...), "AWS_MCP_ACCOUNTS_FILE="+file)
	if urls.CACert != "" {
		ca := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ca, []byte(urls.CACert), 0o600); err != nil {
			return nil, err
		}
		env = append(env, "AWS_CA_BUNDLE="+ca)
	}
	return env, nil
}

// scriptFloor sends the scripts' calls to the fakes with minimal clients
// (one signed, initialized session per account, no proxy), every account
// at once over one transport: run_script, then get_tasks as recommended
// until the task ends. The cold pass assumes each role (when its first
// request is signed, through the core's credential store, which keeps
// auth.DefaultMaxAssumeRoles in flight as the proxy does) and initializes
// each session; the warm pass only calls.
func scriptFloor(ctx context.Context, fakes Fakes, script time.Duration) (coldS, warmS float64, err error) {
	core, err := NewCore(fakes.URLs(), CoreOptions{Accounts: fakes.Accounts()})
	if err != nil {
		return 0, 0, err
	}
	defer core.Close()
	tr, err := directTransport(fakes.URLs(), 1024)
	if err != nil {
		return 0, 0, err
	}
	defer tr.CloseIdleConnections()
	accts := fakes.Accounts()
	clients := make([]*direct, len(accts))
	for i, a := range accts {
		clients[i] = newDirect(fakes.URLs().MCP, tr, core.Store.ForRole(auth.RoleTarget{AccountID: a.ID}))
	}
	code, _ := json.Marshal(map[string]any{"code": ScriptCode(script)})
	pass := func() (float64, error) {
		start := time.Now()
		err := everyAccountAtOnce(accts, func(i int) error { return clients[i].script(ctx, code) })
		return time.Since(start).Seconds(), err
	}
	if coldS, err = pass(); err != nil {
		return 0, 0, err
	}
	warmS, err = pass()
	return coldS, warmS, err
}

// script runs a script and polls its task to the end, waiting as the
// fake recommends.
func (d *direct) script(ctx context.Context, code json.RawMessage) error {
	if d.session == "" {
		if err := d.initialize(ctx); err != nil {
			return err
		}
	}
	env, err := d.tool(ctx, fakeaws.ToolRunScript, code)
	for i := 1; err == nil && env.TaskID != "" && env.Status != "completed" && env.Status != "success"; i++ {
		time.Sleep(time.Duration(max(env.Wait, 0.1) * float64(time.Second)))
		args, _ := json.Marshal(map[string]any{"task_ids": []string{env.TaskID}, "poll_iteration": i})
		var polled scriptAnswer
		if polled, err = d.tool(ctx, fakeaws.ToolGetTasks, args); err == nil && len(polled.Tasks) == 1 {
			polled.Tasks[0].Wait = polled.Wait
			env = polled.Tasks[0]
		}
	}
	if err == nil && env.Status != "completed" && env.Status != "success" {
		err = fmt.Errorf("script ended %q", env.Status)
	}
	return err
}

// scriptAnswer is the part of a run_script or get_tasks answer the floor
// reads.
type scriptAnswer struct {
	Status string         `json:"status"`
	TaskID string         `json:"task_id"`
	Wait   float64        `json:"recommended_wait_seconds"`
	Tasks  []scriptAnswer `json:"tasks"`
}

// tool sends one tools/call and decodes its structured content.
func (d *direct) tool(ctx context.Context, name string, args json.RawMessage) (scriptAnswer, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,"_meta":{"AWS_REGION":"us-east-1"}}}`,
		d.seq.Add(1), name, args)
	data, _, err := d.post(ctx, body)
	if err != nil {
		return scriptAnswer{}, err
	}
	var resp struct {
		Result struct {
			StructuredContent scriptAnswer `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return scriptAnswer{}, fmt.Errorf("%s answered %.200s", name, data)
	}
	return resp.Result.StructuredContent, nil
}

// everyAccountAtOnce runs fn for every account at once and returns the
// first failure, naming its account.
func everyAccountAtOnce(accts []fakeaws.Account, fn func(i int) error) error {
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for i, a := range accts {
		wg.Go(func() {
			if err := fn(i); err != nil {
				err = fmt.Errorf("account %s: %w", a.ID, err)
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return *e
	}
	return nil
}
