package app

import (
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// What the memory of a serving process is made of, measured by `report
// -scenario inflight` (heap and goroutine stacks after a collection, with
// 1,000, 5,000 and 10,000 calls held by the upstream; BENCHMARKS.md).
const (
	// memoryHeadroom: the runtime and the wiring (about 20 MiB idle), a
	// reply, and the answers being read and decoded. A fan-out holds no
	// more of its answers than its reply can show (the store holds the
	// rest), so this does not grow with the number of accounts.
	memoryHeadroom = 64 << 20
	// memoryPerCall: one upstream call in flight: three goroutines (the
	// caller's, the MCP client's watcher, the HTTP/2 stream's) and the
	// signed request, 32-37 KiB over HTTP/2 with small answers (over
	// HTTP/1.1, a connection's two goroutines and buffers instead of the
	// stream's: 42-50 KiB).
	memoryPerCall = 36 << 10
	// memoryPerSession: what an account keeps between calls (credentials,
	// its MCP session and HTTP client, its pacer): 10-11 KiB.
	memoryPerSession = 12 << 10
	// memoryFloor is the least soft limit apart from the answers kept
	// (lower when the result store's cap and the headroom are): below it
	// the collector runs at its own pace (GOGC), above it the limit
	// follows the calls in flight and the sessions.
	memoryFloor = 384 << 20
	// memoryStep is how many calls in flight the limit moves by at once.
	memoryStep = 64
	// callMemory is what the upstream calls in flight may hold when no
	// GOMEMLIMIT says otherwise: 5,120 calls, so 10,000 accounts whose
	// calls the upstream holds for the whole of a 12-second script answer
	// in two rounds, within the first reply, and with 10,000 sessions the
	// process stays near memoryFloor (BENCHMARKS.md).
	callMemory = 180 << 20
)

// defaultMaxInFlight bounds the upstream calls in flight of a process by
// memory: callMemory at memoryPerCall a call, or half of GOMEMLIMIT when
// getenv has one (the runtime has read it). Calls beyond the bound wait
// for a slot, fairly among callers, holding only their goroutine.
func defaultMaxInFlight(getenv func(string) string) int {
	budget := int64(callMemory)
	if limit := debug.SetMemoryLimit(-1); getenv("GOMEMLIMIT") != "" && limit > 0 && limit < math.MaxInt64 {
		budget = limit / 2
	}
	return int(max(budget/memoryPerCall, memoryStep))
}

// maxInFlight is --max-in-flight, or the memory-sized default for 0.
func (c Config) maxInFlight() int {
	if c.MaxInFlight > 0 {
		return c.MaxInFlight
	}
	return defaultMaxInFlight(c.env)
}

// BoundMemory gives a serving process a soft memory limit (the Go
// runtime's) that follows what it holds, unless GOMEMLIMIT sets one: the
// answers in its in-memory result store, and the larger of a floor
// (memoryFloor, or the store's cap and the headroom when less) and the
// headroom with an allowance for every account's session and
// every upstream call in flight (in steps of memoryStep calls). Without a
// limit, the garbage of a wide fan-out lets the heap grow to twice what is
// live (GOGC) before it is collected: 10,000 accounts of 12-second scripts
// peaked at 506-534 MiB with a limit of the store's cap, the headroom and
// 96 KiB a call, at 403-416 MiB with this one over HTTP/2 (BENCHMARKS.md).
// A limit below what is live makes the collector run without pause (a
// fixed one below 2,000 calls in flight made a warm fan-out 2.3 × slower),
// hence the floor and the allowances.
func BoundMemory(a *App) {
	store, inMemory := a.Store.(*results.Memory)
	if !inMemory || a.Config.env("GOMEMLIMIT") != "" || a.memory == nil {
		return
	}
	floor := min(memoryFloor, a.Config.ResultStoreBytes+memoryHeadroom)
	a.memory.bound(memoryHeadroom, floor, store.Bytes, a.Pool.SessionsOpened)
	a.Log.Debug("soft memory limit", "floor", floor, "per_call_in_flight", memoryPerCall,
		"per_session", memoryPerSession, "result_store_bytes", a.Config.ResultStoreBytes)
}

// memoryLimit is a soft memory limit that grows and shrinks with the
// upstream calls in flight. Its zero value only counts them.
type memoryLimit struct {
	calls atomic.Int64
	base  atomic.Int64 // 0: no limit set
	floor int64        // set once by bound
	step  atomic.Int64 // the step of calls the limit was last set for
	// kept and sessions report the answers kept (bytes) and the sessions
	// opened; set once by bound, read again as the calls in flight move.
	kept, sessions func() int64

	mu sync.Mutex
}

// bound sets the limit from base bytes (the headroom), the floor, the
// answers kept and the sessions opened.
func (m *memoryLimit) bound(base, floor int64, kept, sessions func() int64) {
	m.mu.Lock()
	m.floor, m.kept, m.sessions = floor, kept, sessions
	m.mu.Unlock()
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

// limit is the limit for a step of calls in flight. m.mu is held.
func (m *memoryLimit) limit(step int64) int64 {
	var kept, sessions int64
	if m.kept != nil {
		kept, sessions = m.kept(), m.sessions()
	}
	return kept + max(m.floor, m.base.Load()+sessions*memoryPerSession+step*memoryStep*memoryPerCall)
}

// stepOf rounds calls in flight up to a whole step.
func stepOf(calls int64) int64 { return (max(calls, 0) + memoryStep - 1) / memoryStep }
