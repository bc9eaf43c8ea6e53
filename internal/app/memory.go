package app

import (
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// Memory a serving process needs beyond its result store (BoundMemory).
const (
	// memoryHeadroom: the runtime and the wiring (about 20 MiB idle), a
	// reply, and the answers being read and decoded. A fan-out holds no
	// more of its answers than its reply can show (the store holds the
	// rest), so this does not grow with the number of accounts.
	memoryHeadroom = 64 << 20
	// memoryPerCall: what one upstream call in flight holds (its
	// connection or stream, its goroutines, its answer while it is
	// decoded), with the collector's room: 2,000 calls in flight over
	// HTTP/1.1 to the fake peak at about 60 KiB each with small answers,
	// 110 KiB with 16 KiB answers (BENCHMARKS.md).
	memoryPerCall = 96 << 10
	// memoryStep is how many calls in flight the limit moves by at once.
	memoryStep = 64
)

// BoundMemory gives a serving process a soft memory limit (the Go
// runtime's), unless GOMEMLIMIT sets one: its in-memory result store's
// cap, the headroom, and an allowance for every upstream call in flight
// (in steps of memoryStep calls). The store's cap is the memory the
// operator gave answers; without a limit the garbage of a fan-out (every
// answer read and decoded, then kept once) lets the heap grow to twice
// what is live (GOGC) before it is collected, and a limit that did not
// grow with the calls in flight would make a wide fan-out's collector run
// without pause. 2,000 answers of 16 KiB, 64 at a time, with a 16 MiB
// store peak at 92 MiB with it, 108 MiB without (BENCHMARKS.md).
func BoundMemory(a *App) {
	if _, inMemory := a.Store.(*results.Memory); !inMemory || a.Config.env("GOMEMLIMIT") != "" || a.memory == nil {
		return
	}
	a.memory.bound(a.Config.ResultStoreBytes + memoryHeadroom)
	a.Log.Debug("soft memory limit", "bytes", a.Config.ResultStoreBytes+memoryHeadroom, "per_call_in_flight", memoryPerCall,
		"result_store_bytes", a.Config.ResultStoreBytes)
}

// memoryLimit is a soft memory limit that grows and shrinks with the
// upstream calls in flight. Its zero value only counts them.
type memoryLimit struct {
	calls atomic.Int64
	base  atomic.Int64 // 0: no limit set
	step  atomic.Int64 // the step of calls the limit was last set for

	mu sync.Mutex
}

// bound sets the limit: base bytes plus the allowance of the calls in
// flight.
func (m *memoryLimit) bound(base int64) {
	m.base.Store(base)
	m.step.Store(-1)
	m.apply()
}

// add counts calls starting (delta 1) and ending (-1), moving the limit
// when their number crosses a step.
func (m *memoryLimit) add(delta int) {
	n := m.calls.Add(int64(delta))
	if m.base.Load() == 0 || stepOf(n) == m.step.Load() {
		return
	}
	m.apply()
}

// apply sets the runtime's limit for the calls in flight now, unless it
// is set for their step already.
func (m *memoryLimit) apply() {
	m.mu.Lock()
	defer m.mu.Unlock()
	step := stepOf(m.calls.Load())
	if step == m.step.Load() {
		return
	}
	m.step.Store(step)
	debug.SetMemoryLimit(m.limit(step))
}

// limit is the limit for a step of calls in flight.
func (m *memoryLimit) limit(step int64) int64 {
	return m.base.Load() + step*memoryStep*memoryPerCall
}

// stepOf rounds calls in flight up to a whole step.
func stepOf(calls int64) int64 { return (max(calls, 0) + memoryStep - 1) / memoryStep }
