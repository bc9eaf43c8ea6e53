package upstream

import (
	"context"
	"sync"
)

type tenantKey struct{}

// WithTenant returns a context naming whose call it is (a caller of a
// shared server): the process-wide bound on upstream calls is shared
// between tenants in turn, so one tenant's wide fan-out does not starve
// another's single call. "" is the tenant of a single-user process.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

func tenantOf(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}

// fairSlots bounds calls in flight; when they are all taken, a freed slot
// goes to the next tenant in turn that is waiting (round robin), and
// within a tenant to its longest waiter.
type fairSlots struct {
	mu     sync.Mutex
	free   int
	queues map[string][]chan struct{}
	turn   []string // tenants with waiters, in the order they are served
}

func newFairSlots(n int) *fairSlots {
	return &fairSlots{free: n, queues: map[string][]chan struct{}{}}
}

// acquire takes a slot for tenant, waiting its turn, or fails when ctx ends.
func (f *fairSlots) acquire(ctx context.Context, tenant string) error {
	f.mu.Lock()
	if f.free > 0 && len(f.turn) == 0 {
		f.free--
		f.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	if len(f.queues[tenant]) == 0 {
		f.turn = append(f.turn, tenant)
	}
	f.queues[tenant] = append(f.queues[tenant], ready)
	f.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		select {
		case <-ready:
			// The slot came as ctx ended: hand it on.
			f.handOff()
		default:
			f.remove(tenant, ready)
		}
		return ctx.Err()
	}
}

// release returns a slot, handing it to the next waiting tenant.
func (f *fairSlots) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handOff()
}

// handOff gives a free slot to the tenant whose turn it is. f.mu is held.
func (f *fairSlots) handOff() {
	if len(f.turn) == 0 {
		f.free++
		return
	}
	tenant := f.turn[0]
	q := f.queues[tenant]
	ready := q[0]
	if len(q) == 1 {
		delete(f.queues, tenant)
		f.turn = f.turn[1:]
	} else {
		f.queues[tenant] = q[1:]
		f.turn = append(f.turn[1:], tenant) // the others' turn first
	}
	close(ready)
}

// remove drops a waiter that gave up. f.mu is held.
func (f *fairSlots) remove(tenant string, ready chan struct{}) {
	q := f.queues[tenant]
	for i, c := range q {
		if c == ready {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		f.queues[tenant] = q
		return
	}
	delete(f.queues, tenant)
	for i, t := range f.turn {
		if t == tenant {
			f.turn = append(f.turn[:i], f.turn[i+1:]...)
			break
		}
	}
}
