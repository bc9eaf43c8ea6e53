package upstream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/testutil"
)

// TestFairSlotsTakeTurns: with every slot taken by tenant A's queue, a
// slot freed goes to B's single waiter before A's next ones.
func TestFairSlotsTakeTurns(t *testing.T) {
	t.Parallel()
	f := newFairSlots(2)
	ctx := context.Background()
	for range 2 {
		if err := f.acquire(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	order := make(chan string, 6)
	wait := func(tenant string) {
		go func() {
			if err := f.acquire(ctx, tenant); err == nil {
				order <- tenant
			}
		}()
	}
	for range 4 {
		wait("a")
	}
	waitQueued(t, f, "a", 4)
	wait("b")
	waitQueued(t, f, "b", 1)
	f.release()
	if got := <-order; got != "a" {
		// The turn order is a first (it queued first), then b.
		t.Fatalf("first freed slot went to %s", got)
	}
	f.release()
	if got := <-order; got != "b" {
		t.Fatalf("second freed slot went to %s, want b's turn before a's third waiter", got)
	}
}

// TestFairSlotsGiveUp: a waiter whose context ends leaves the queue and
// holds no slot.
func TestFairSlotsGiveUp(t *testing.T) {
	t.Parallel()
	f := newFairSlots(1)
	if err := f.acquire(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := f.acquire(ctx, "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire = %v, want the deadline", err)
	}
	f.release()
	if err := f.acquire(context.Background(), "c"); err != nil || f.free != 0 {
		t.Fatalf("after a waiter gave up: %v, free %d", err, f.free)
	}
}

// waitQueued waits until tenant has n waiters.
func waitQueued(t *testing.T, f *fairSlots, tenant string, n int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("tenant %s with %d waiters", tenant, n), func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.queues[tenant]) == n
	})
}
