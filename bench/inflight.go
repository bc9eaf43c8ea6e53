package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// InFlightResult is what upstream calls in flight cost the proxy core:
// memory and goroutines per call while every account's call is held by the
// upstream, and per account for its credentials and session.
type InFlightResult struct {
	// Width is how many calls were in flight at once (one per account).
	Width int  `json:"width"`
	TLS   bool `json:"tls,omitempty"`
	// HeapPerCallKiB and StackPerCallKiB are the live heap (HeapInuse) and
	// the goroutine stacks (StackInuse) per call in flight, after a
	// collection; GoroutinesPerCall the goroutines per call.
	HeapPerCallKiB    float64 `json:"heap_per_call_kib"`
	StackPerCallKiB   float64 `json:"stack_per_call_kib"`
	GoroutinesPerCall float64 `json:"goroutines_per_call"`
	// SessionKiB is the heap per account kept between fan-outs (its
	// credentials, its upstream session, its idle connection share).
	SessionKiB float64 `json:"session_kib"`
}

// MeasureInFlight measures the core (app.Build, in this process) with
// width calls in flight: a first fan-out over the fakes' accounts opens
// every credential and session, then the fake holds every tools/call
// while the heap and stacks are read after a collection.
func MeasureInFlight(ctx context.Context, fakes Fakes, profileDir string) (*InFlightResult, error) {
	accts := fakes.Accounts()
	width := len(accts)
	core, err := NewCore(fakes.URLs(), CoreOptions{Accounts: accts, MaxInFlight: width})
	if err != nil {
		return nil, err
	}
	defer core.Close()
	res := &InFlightResult{Width: width, TLS: fakes.URLs().CACert != ""}
	if err := fakes.SetLatency(0); err != nil {
		return nil, err
	}
	idle := liveMemory()
	req := CallerIdentity
	req.ReplyWithin = 10 * time.Minute
	if _, err := core.Service.QueryAll(ctx, req, nil); err != nil {
		return nil, err
	}
	warm := liveMemory()
	if err := heapProfile(profileDir, "heap-sessions.pprof"); err != nil {
		return nil, err
	}
	res.SessionKiB = float64(warm.heap-idle.heap) / 1024 / float64(width)

	if err := fakes.SetLatency(10 * time.Minute); err != nil {
		return nil, err
	}
	held, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := core.Service.QueryAll(held, req, nil)
		done <- err
	}()
	if err := awaitInFlight(ctx, fakes, width); err != nil {
		return nil, err
	}
	busy := liveMemory()
	if err := heapProfile(profileDir, "heap-inflight.pprof"); err != nil {
		return nil, err
	}
	res.HeapPerCallKiB = float64(busy.heap-warm.heap) / 1024 / float64(width)
	res.StackPerCallKiB = float64(busy.stack-warm.stack) / 1024 / float64(width)
	res.GoroutinesPerCall = float64(busy.goroutines-warm.goroutines) / float64(width)
	cancel()
	err = <-done
	if e := fakes.SetLatency(0); e != nil {
		return nil, e
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return res, nil
}

// awaitInFlight waits until the fakes have held width calls at once.
func awaitInFlight(ctx context.Context, fakes Fakes, width int) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := fakes.Stats()
		if err != nil {
			return err
		}
		if st.MaxInflight >= width {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the upstream held %d calls at most, want %d", st.MaxInflight, width)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type memory struct {
	heap, stack uint64
	goroutines  int
}

// liveMemory collects twice (the second shrinks the stacks the first
// found oversized) and reads the heap and the stacks in use.
func liveMemory() memory {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// heapProfile writes the heap profile to dir/name; nothing when dir is "".
func heapProfile(dir, name string) error {
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}
