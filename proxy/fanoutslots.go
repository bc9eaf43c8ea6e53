package proxy

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// fanoutSlots bounds the fan-outs each caller runs at once. What is beyond
// the bound waits in the caller's own queue, first come first served,
// until a slot frees, its deadline passes or it is cancelled; one caller's
// queue never holds back another's.
type fanoutSlots struct {
	limit int // 0: no bound
	// setting names the bound's setting in a refusal.
	setting string

	mu      sync.Mutex
	callers map[string]*callerSlots
}

// callerSlots are one caller's running fan-outs and its queue.
type callerSlots struct {
	running int
	queue   []*slotWaiter
}

// slotWaiter is one fan-out waiting; granted is closed when a slot is
// handed to it.
type slotWaiter struct {
	granted chan struct{}
	given   bool
}

func newFanoutSlots(limit int, setting string) *fanoutSlots {
	return &fanoutSlots{limit: limit, setting: setting, callers: map[string]*callerSlots{}}
}

// acquire returns once caller may run one more fan-out, with the release
// that ends it (safe to call more than once). A fan-out beyond the bound
// waits until due (zero: as long as ctx lives), telling waiting, once, why
// it has not started; at due it is refused with ErrTooManyFanouts, and a
// cancelled ctx leaves the queue with ctx's error.
func (f *fanoutSlots) acquire(ctx context.Context, caller string, due time.Time, waiting func(running int)) (func(), error) {
	if f.limit <= 0 {
		return func() {}, nil
	}
	f.mu.Lock()
	c := f.callers[caller]
	if c == nil {
		c = &callerSlots{}
		f.callers[caller] = c
	}
	if c.running < f.limit && len(c.queue) == 0 {
		c.running++
		f.mu.Unlock()
		return f.releaser(caller), nil
	}
	w := &slotWaiter{granted: make(chan struct{})}
	c.queue = append(c.queue, w)
	f.mu.Unlock()
	if waiting != nil {
		waiting(f.limit)
	}

	var expired <-chan time.Time
	if !due.IsZero() {
		timer := time.NewTimer(time.Until(due))
		defer timer.Stop()
		expired = timer.C
	}
	var err error
	select {
	case <-w.granted:
		return f.releaser(caller), nil
	case <-expired:
		err = fmt.Errorf("%w: this caller already runs %d fan-outs (at most %d at once, %s) and none finished before the reply was due; call again once one has finished (get_result shows their progress)",
			ErrTooManyFanouts, f.limit, f.limit, f.setting)
	case <-ctx.Done():
		err = ctx.Err()
	}
	f.mu.Lock()
	if w.given { // a slot was handed over as the wait ended: pass it on
		f.mu.Unlock()
		f.releaser(caller)()
		return nil, err
	}
	for i, q := range c.queue {
		if q == w {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			break
		}
	}
	f.forget(caller, c)
	f.mu.Unlock()
	return nil, err
}

// releaser ends one running fan-out of caller: its slot goes to the
// caller's first waiter, if any.
func (f *fanoutSlots) releaser(caller string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			c := f.callers[caller]
			if len(c.queue) > 0 {
				w := c.queue[0]
				c.queue = c.queue[1:]
				w.given = true
				close(w.granted)
				return
			}
			c.running--
			f.forget(caller, c)
		})
	}
}

// forget drops a caller with nothing running and nothing queued. f.mu is
// held.
func (f *fanoutSlots) forget(caller string, c *callerSlots) {
	if c.running == 0 && len(c.queue) == 0 {
		delete(f.callers, caller)
	}
}

// queued reports how many of caller's fan-outs wait (tests).
func (f *fanoutSlots) queued(caller string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.callers[caller]; c != nil {
		return len(c.queue)
	}
	return 0
}
