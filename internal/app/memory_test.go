package app

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitFollowsWhatIsHeld: once bound, the soft memory limit is
// the answers kept plus the larger of the floor and the headroom with the
// sessions' and the calls' allowances, moved as calls start and end (in
// steps); before, counting calls sets nothing.
func TestMemoryLimitFollowsWhatIsHeld(t *testing.T) {
	// Not parallel: the limit is the process's.
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	var m memoryLimit
	m.add(1)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("an unbound limit set the runtime's to %d", got)
	}
	const base = 64 << 20
	var kept, sessions int64 = 5 << 20, 0
	const floor = memoryFloor
	m.bound(base, floor, func() int64 { return kept }, func() int64 { return sessions })
	step := int64(memoryStep * memoryPerCall)
	wide := int64(floor/step) + 10 // steps of calls that pass the floor with no sessions
	for _, c := range []struct {
		name     string
		calls    int64 // calls in flight after the change
		kept     int64 // answers kept from this change on
		sessions int64
		want     int64
	}{
		{"one call: the floor", 1, 5 << 20, 0, 5<<20 + floor},
		{"same step: held is read again only when the step moves", memoryStep, 9 << 20, 10000, 5<<20 + floor},
		{"next step, 10,000 sessions", memoryStep + 1, 9 << 20, 10000, 9<<20 + max(floor, base+10000*memoryPerSession+2*step)},
		{"wide: the calls pass the floor", wide * memoryStep, 9 << 20, 0, 9<<20 + base + wide*step},
		{"none", 0, 0, 0, floor},
	} {
		kept, sessions = c.kept, c.sessions
		for m.calls.Load() < c.calls {
			m.add(1)
		}
		for m.calls.Load() > c.calls {
			m.add(-1)
		}
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%s: limit %d, want %d", c.name, got, c.want)
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

// TestDefaultMaxInFlight: the process bound on upstream calls comes from
// memory: callMemory at memoryPerCall each, or half of a GOMEMLIMIT, never
// below one step; an explicit --max-in-flight wins.
func TestDefaultMaxInFlight(t *testing.T) {
	// Not parallel: the limit is the process's.
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMEMLIMIT" {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		name    string
		gomem   string
		runtime int64
		flag    int
		want    int
	}{
		{"no GOMEMLIMIT", "", math.MaxInt64, 0, callMemory / memoryPerCall},
		{"GOMEMLIMIT 1GiB", "1GiB", 1 << 30, 0, (1 << 29) / memoryPerCall},
		{"a tiny GOMEMLIMIT keeps one step", "2MiB", 2 << 20, 0, memoryStep},
		{"the flag wins", "1GiB", 1 << 30, 100, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			debug.SetMemoryLimit(c.runtime)
			cfg := Config{MaxInFlight: c.flag, getenv: env(c.gomem)}
			if got := cfg.maxInFlight(); got != c.want {
				t.Errorf("maxInFlight() = %d, want %d", got, c.want)
			}
		})
	}
}
