package proxy

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestFanoutSlotsQueue: beyond its bound a caller's fan-outs wait, first
// come first served, and start as running ones end; another caller is not
// held back; a wait past its due time is refused naming the bound; a
// cancelled wait leaves the queue and loses no slot.
func TestFanoutSlotsQueue(t *testing.T) {
	f := newFanoutSlots(2, "the caller-fanouts setting")
	ctx := context.Background()
	hold := func(caller string) func() {
		t.Helper()
		release, err := f.acquire(ctx, caller, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return release
	}
	r1, r2 := hold("alice"), hold("alice")
	bob := hold("bob") // alice's bound is not bob's
	defer bob()

	// Two more of alice's wait, in order; each says why, once.
	type got struct {
		n       int
		release func()
		err     error
	}
	started := make(chan got, 2)
	waiting := make(chan int, 2)
	for n := 1; n <= 2; n++ {
		go func() {
			release, err := f.acquire(ctx, "alice", time.Time{}, func(running int) { waiting <- running })
			started <- got{n, release, err}
		}()
		if running := <-waiting; running != 2 { // queued before the next one asks
			t.Fatalf("waiting told %d running, want 2", running)
		}
	}
	if q := f.queued("alice"); q != 2 {
		t.Fatalf("%d queued, want 2", q)
	}

	// A third waits until its due time and is refused; a fourth is
	// cancelled: both leave the queue.
	_, err := f.acquire(ctx, "alice", time.Now().Add(-time.Second), nil)
	if !errors.Is(err, ErrTooManyFanouts) {
		t.Fatalf("a wait past its due time: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() {
		_, err := f.acquire(cctx, "alice", time.Time{}, func(int) { cancel() })
		cancelled <- err
	}()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v", err)
	}
	if q := f.queued("alice"); q != 2 {
		t.Fatalf("%d queued after a refusal and a cancellation, want 2", q)
	}

	// Slots pass on in order of arrival.
	r1()
	first := <-started
	if first.n != 1 || first.err != nil {
		t.Fatalf("first to start: %+v", first)
	}
	r2()
	second := <-started
	if second.n != 2 || second.err != nil {
		t.Fatalf("second to start: %+v", second)
	}
	first.release()
	second.release()
	second.release() // twice is once
	if len(f.callers) != 1 {
		t.Errorf("callers left: %v (want bob's alone)", f.callers)
	}
	// With every slot back, alice runs two at once again.
	a, b := hold("alice"), hold("alice")
	a()
	b()
}

// TestFanoutSlotsUnbounded: no bound, no wait.
func TestFanoutSlotsUnbounded(t *testing.T) {
	f := newFanoutSlots(0, "the caller-fanouts setting")
	for range 10 {
		if _, err := f.acquire(context.Background(), "alice", time.Now().Add(-time.Second), nil); err != nil {
			t.Fatal(err)
		}
	}
}
