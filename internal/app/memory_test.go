package app

import (
	"runtime/debug"
	"testing"
)

// TestMemoryLimitGrowsWithTheCallsInFlight: once bound, the soft memory
// limit is the base plus an allowance per step of calls in flight, moved
// as calls start and end; before, counting calls sets nothing.
func TestMemoryLimitGrowsWithTheCallsInFlight(t *testing.T) {
	// Not parallel: the limit is the process's.
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	var m memoryLimit
	m.add(1)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("an unbound limit set the runtime's to %d", got)
	}
	const base = 100 << 20
	m.bound(base)
	step := int64(memoryStep * memoryPerCall)
	for _, c := range []struct {
		delta int
		want  int64
	}{
		{0, base + step},              // 1 call in flight
		{memoryStep - 1, base + step}, // 64
		{1, base + 2*step},            // 65
		{-65, base},                   // none
		{-1, base},                    // never below none
	} {
		for range max(c.delta, -c.delta) {
			if c.delta > 0 {
				m.add(1)
			} else {
				m.add(-1)
			}
		}
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%d calls in flight: limit %d, want %d", m.calls.Load(), got, c.want)
		}
	}
}

func TestStepOf(t *testing.T) {
	t.Parallel()
	for calls, want := range map[int64]int64{-3: 0, 0: 0, 1: 1, memoryStep: 1, memoryStep + 1: 2} {
		if got := stepOf(calls); got != want {
			t.Errorf("stepOf(%d) = %d, want %d", calls, got, want)
		}
	}
}
