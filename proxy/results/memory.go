package results

import (
	"context"
	"sync"
	"time"
)

// entryOverhead is what an entry costs beyond its data and error text.
const entryOverhead = 256

// maxTombstones bounds how many dropped ids the store remembers, so it can
// say "expired" rather than "unknown".
const maxTombstones = 4096

// Memory is a Store in this process's memory, bounded in bytes (the oldest
// results are dropped first) and in time. It is safe for concurrent use.
type Memory struct {
	maxBytes int64
	ttl      time.Duration
	now      func() time.Time

	mu        sync.Mutex
	records   map[string]*memRecord
	order     []string // ids, oldest first
	bytes     int64
	tombs     map[string]tombstone
	tombOrder []string
	timer     *time.Timer
	closed    bool
}

type memRecord struct {
	owner   string
	rec     Record
	written time.Time
	bytes   int64
	sizes   []int64
	dropped map[int]bool
}

type tombstone struct {
	owner, reason string
}

// NewMemory returns a store of at most maxBytes whose results expire ttl
// after their last write (DefaultStoreBytes and DefaultTTL when zero).
func NewMemory(maxBytes int64, ttl time.Duration) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultStoreBytes
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Memory{maxBytes: maxBytes, ttl: ttl, now: time.Now, records: map[string]*memRecord{}, tombs: map[string]tombstone{}}
}

// SetClock replaces the store's clock (tests).
func (m *Memory) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// TTL is how long a result is kept after its last write.
func (m *Memory) TTL() time.Duration { return m.ttl }

// Bytes returns what the kept results cost, as the store counts it.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Close stops the expiry timer and drops every result.
func (m *Memory) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.records, m.order, m.bytes = map[string]*memRecord{}, nil, 0
}

func entryCost(e Entry) int64 {
	return int64(len(e.Data) + len(e.text) + len(e.Error) + len(e.Name) + entryOverhead)
}

// Create keeps a new result.
func (m *Memory) Create(_ context.Context, owner string, a *Answer) (string, error) {
	id := NewID()
	now := m.now()
	r := &memRecord{owner: owner, written: now, rec: Record{ID: id, Created: now, Answer: *a}, dropped: map[int]bool{}}
	r.rec.Answer.Results = append([]Entry(nil), a.Results...)
	r.rec.Answer.Summary.ResultID = id
	r.sizes = make([]int64, len(a.Results))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	m.records[id] = r
	m.order = append(m.order, id)
	for i, e := range r.rec.Answer.Results {
		m.store(r, i, e)
	}
	m.arm()
	return id, nil
}

// Put records the final entry of target i; ErrNotKept says its data did
// not fit (the entry's outcome is still recorded).
func (m *Memory) Put(_ context.Context, owner, id string, i int, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.lookup(owner, id)
	if err != nil {
		return err
	}
	if i < 0 || i >= len(r.rec.Answer.Results) {
		return nil
	}
	r.written = m.now()
	if !m.store(r, i, e) {
		return ErrNotKept
	}
	return nil
}

// store sets entry i, accounting its bytes and making room by dropping the
// oldest other results; data that cannot fit even then is not kept, and
// store reports false.
func (m *Memory) store(r *memRecord, i int, e Entry) bool {
	m.bytes -= r.sizes[i]
	r.bytes -= r.sizes[i]
	delete(r.dropped, i)
	e = e.Kept() // an answer its text rebuilds as that text alone: Data is rebuilt on read
	cost := entryCost(e)
	for m.bytes+cost > m.maxBytes && m.evictOldestExcept(r.rec.ID) {
	}
	kept := true
	if m.bytes+cost > m.maxBytes && (e.Data != nil || e.hasText) {
		e.Data, e.text, e.hasText, e.shape = nil, "", false, shapeWhole
		r.dropped[i] = true
		cost = entryCost(e)
		kept = false
	}
	r.rec.Answer.Results[i] = e
	r.sizes[i] = cost
	r.bytes += cost
	m.bytes += cost
	return kept
}

// evictOldestExcept drops the oldest result other than keep.
func (m *Memory) evictOldestExcept(keep string) bool {
	for i, id := range m.order {
		if id == keep {
			continue
		}
		m.drop(i, "evicted")
		return true
	}
	return false
}

// drop removes the result at position i of order, leaving a tombstone.
func (m *Memory) drop(i int, reason string) {
	id := m.order[i]
	r := m.records[id]
	m.order = append(m.order[:i], m.order[i+1:]...)
	delete(m.records, id)
	m.bytes -= r.bytes
	m.tombs[id] = tombstone{owner: r.owner, reason: reason}
	m.tombOrder = append(m.tombOrder, id)
	if len(m.tombOrder) > maxTombstones {
		delete(m.tombs, m.tombOrder[0])
		m.tombOrder = m.tombOrder[1:]
	}
}

// sweep drops expired results from the oldest on, stopping at the first
// live one: results are kept in the order they were made, so this is
// amortized constant time. (A result written later than an older live
// one waits behind it; lookup checks the one asked for itself.)
func (m *Memory) sweep(now time.Time) {
	for len(m.order) > 0 && m.expired(m.records[m.order[0]], now) {
		m.drop(0, "expired")
	}
}

func (m *Memory) expired(r *memRecord, now time.Time) bool {
	return now.Sub(r.written) >= m.ttl
}

// arm schedules the next sweep at the oldest result's expiry, so expired
// results free their memory even when nobody asks for a result again.
func (m *Memory) arm() {
	if m.closed || len(m.order) == 0 {
		return
	}
	oldest := m.records[m.order[0]].written
	wait := max(time.Second, m.ttl-m.now().Sub(oldest)+time.Millisecond)
	if m.timer == nil {
		m.timer = time.AfterFunc(wait, m.tick)
		return
	}
	m.timer.Reset(wait)
}

func (m *Memory) tick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.sweep(m.now())
	m.arm()
}

// lookup returns the caller's live result.
func (m *Memory) lookup(owner, id string) (*memRecord, error) {
	now := m.now()
	m.sweep(now)
	if r, ok := m.records[id]; ok && m.expired(r, now) {
		for i, other := range m.order {
			if other == id {
				m.drop(i, "expired")
				break
			}
		}
	}
	if r, ok := m.records[id]; ok && r.owner == owner {
		return r, nil
	}
	reason := "unknown"
	if t, ok := m.tombs[id]; ok && t.owner == owner {
		reason = t.reason
	}
	return nil, &LookupError{ID: id, Reason: reason, TTL: m.ttl, MaxBytes: m.maxBytes}
}

// Finish records the final summary.
func (m *Memory) Finish(_ context.Context, owner, id string, s Summary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.lookup(owner, id)
	if err != nil {
		return err
	}
	s.ResultID = id
	r.rec.Answer.Summary = s
	r.written = m.now()
	return nil
}

// Get returns a copy of the stored answer, entries with their data.
func (m *Memory) Get(_ context.Context, owner, id string, _ bool) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.lookup(owner, id)
	if err != nil {
		return nil, err
	}
	out := r.rec
	// Plain answers come as their text; their Data is rebuilt where it is
	// needed (see Entry.withData).
	out.Answer.Results = append([]Entry(nil), r.rec.Answer.Results...)
	out.Answer.Warnings = append([]string(nil), r.rec.Answer.Warnings...)
	return &out, nil
}

// Entry returns target i's entry with its data.
func (m *Memory) Entry(_ context.Context, owner, id string, i int) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.lookup(owner, id)
	if err != nil {
		return Entry{}, err
	}
	if i < 0 || i >= len(r.rec.Answer.Results) {
		return Entry{}, &LookupError{ID: id, Reason: "unknown", TTL: m.ttl, MaxBytes: m.maxBytes}
	}
	if r.dropped[i] {
		return r.rec.Answer.Results[i], ErrNotKept
	}
	return r.rec.Answer.Results[i].withData(), nil
}
