package proxy

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// TestSoak runs concurrent fan-outs over 200 accounts while faults come and
// go: no panic, no lost result (every account in every answer, once), heap
// flat (±10% once warm) and goroutines back to the baseline. It runs for
// AWS_MCP_SOAK (e.g. 2m) and for 3 s by default.
func TestSoak(t *testing.T) {
	duration := 3 * time.Second
	if v := os.Getenv("AWS_MCP_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		duration = d
	}
	before := goleak.IgnoreCurrent() // what ran before the soak is not its leak
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(200)})
	stack.MCP.RecordCalls(false)
	svc, pool := testService(t, stack, Config{Concurrency: 32, Timeout: 2 * time.Second})
	rng := rand.New(rand.NewPCG(1, 2))

	run := func() {
		out, err := svc.QueryAll(context.Background(), QueryAllRequest{ToolName: CallAWSTool, Arguments: callerArgs}, nil)
		if err != nil {
			t.Error(err)
			return
		}
		seen := make(map[string]bool, 200)
		for _, r := range out.Results {
			if seen[r.AccountID] || r.AccountID == "" || (r.Status != StatusSuccess && r.Error == "") {
				t.Errorf("bad or repeated result %+v", r)
			}
			seen[r.AccountID] = true
		}
		if len(seen) != 200 || out.Summary.Total != 200 || out.Summary.Succeeded+out.Summary.Failed != 200 {
			t.Errorf("lost results: %d accounts answered, summary %+v", len(seen), out.Summary)
		}
	}
	run() // warm: credentials, sessions

	// phase runs 4 concurrent clients and the fault injector for d, then
	// stops them all, so heap samples are taken in the same quiet state.
	var rounds atomic.Int64
	phase := func(d time.Duration) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					run()
					rounds.Add(1)
				}
			})
		}
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				injectFault(stack, rng)
			}
		})
		time.Sleep(d) // the phase's length, not synchronisation
		close(stop)
		wg.Wait()
	}
	phase(duration / 2)
	heapBefore := heapInUse()
	phase(duration / 2)
	heapAfter := heapInUse()

	t.Logf("%d fan-outs of 200 accounts in %s; heap in use after each half: %d KiB -> %d KiB", rounds.Load(), duration, heapBefore>>10, heapAfter>>10)
	if rounds.Load() == 0 {
		t.Fatal("no fan-out completed")
	}
	if float64(heapAfter) > 1.10*float64(heapBefore) {
		t.Errorf("heap grew from %d to %d bytes (more than 10%%)", heapBefore, heapAfter)
	}

	pool.Close(context.Background())
	stack.Close()
	// goleak names each goroutine the soak left behind. It retries for
	// under a second; a loaded machine gets 10 s to let them end.
	deadline := time.Now().Add(10 * time.Second)
	err := goleak.Find(before)
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling for goroutines to end, not synchronising
		err = goleak.Find(before)
	}
	if err != nil {
		t.Errorf("goroutines left after the soak: %v", err)
	}
}

// injectFault starts or ends one random fault in one account.
func injectFault(stack *fakeaws.Stack, rng *rand.Rand) {
	a := stack.Accounts[rng.IntN(len(stack.Accounts))].ID
	switch rng.IntN(7) {
	case 0:
		stack.MCP.FailCalls(a, []int{500, 502, 503, 429}[rng.IntN(4)], 1+rng.IntN(3), "")
	case 1:
		stack.MCP.SetLatency(a, time.Duration(rng.IntN(3000))*time.Millisecond)
	case 2:
		stack.MCP.DropConnections(a, rng.IntN(2) == 0)
	case 3:
		stack.STS.Throttle(a, 1+rng.IntN(2))
	case 4:
		stack.Keys.ExpireAccount(a)
	case 5:
		if rng.IntN(10) == 0 {
			stack.MCP.ExpireSessions()
		}
	case 6:
		stack.MCP.SetLatency(a, 0)
		stack.MCP.DropConnections(a, false)
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
