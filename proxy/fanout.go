package proxy

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// fanout runs work for indices 0..n-1 on a bounded, growing set of
// workers. It starts with the configured concurrency; when a deadline is
// set and the latencies observed so far say the queue would not drain in
// time, it adds workers, never beyond max.
type fanout struct {
	n        int
	max      int
	deadline time.Time
	work     func(ctx context.Context, i int)
	progress Progress
	ctx      context.Context

	next atomic.Int64
	wg   sync.WaitGroup

	mu       sync.Mutex
	workers  int
	finished int
	busy     time.Duration
}

// deadlineShare is the part of the time left that the queue is planned to
// take, leaving room for latency that varies from account to account.
const deadlineShare = 0.6

// newFanout returns a fan-out of n calls of work.
func newFanout(ctx context.Context, n, start, maxWorkers int, deadline time.Time, work func(context.Context, int), progress Progress) *fanout {
	f := &fanout{n: n, max: max(start, maxWorkers), deadline: deadline, work: work, progress: progress, ctx: ctx}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grow(min(start, n))
	return f
}

// wait blocks until every index has been worked.
func (f *fanout) wait() { f.wg.Wait() }

// peak is the most workers that ran at once.
func (f *fanout) peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.workers
}

// grow starts workers until there are want of them (and no more than max,
// nor more than there are indices). f.mu is held.
func (f *fanout) grow(want int) {
	want = min(want, f.max, f.n)
	for f.workers < want {
		f.workers++
		f.wg.Go(f.loop)
	}
}

func (f *fanout) loop() {
	for {
		i := int(f.next.Add(1) - 1)
		if i >= f.n {
			return
		}
		start := time.Now()
		f.work(f.ctx, i)
		f.done(time.Since(start))
	}
}

// done counts one finished index, reports progress, and adds workers when
// the queue would not drain before the deadline.
func (f *fanout) done(took time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished++
	f.busy += took
	if f.progress != nil {
		f.progress(f.finished, f.n)
	}
	if f.deadline.IsZero() || f.workers >= f.max {
		return
	}
	queued := f.n - int(f.next.Load())
	if queued <= 0 {
		return
	}
	f.grow(workersFor(queued, f.busy/time.Duration(f.finished), time.Until(f.deadline), f.workers))
}

// workersFor is how many workers drain queued calls of about avg each
// within deadlineShare of left; at least have. Calls are whole: a worker
// fits floor(plan/avg) rounds of them, so 234 queued calls of 10 s with 18 s
// left need 234 workers, not the 217 an average would suggest.
func workersFor(queued int, avg, left time.Duration, have int) int {
	plan := time.Duration(float64(left) * deadlineShare)
	if plan <= avg {
		return math.MaxInt32 // out of time: as many as allowed
	}
	rounds := max(1, int(plan/avg))
	need := (queued + rounds - 1) / rounds
	return max(have, need)
}
