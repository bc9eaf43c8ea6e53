// Package plans keeps the plans of changes between the call that makes a
// plan and the one that applies it: each under a random id, bound to the
// caller that made it, usable once, and only until it expires (as
// Terraform applies exactly the plan it saved, and only once).
package plans

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultTTL is how long a plan may be applied.
const DefaultTTL = 10 * time.Minute

// perOwner bounds the plans one caller keeps; the oldest go first.
const perOwner = 64

// Errors of Take. Another caller's plan is ErrUnknown: the answer tells
// nothing about plans the caller did not make.
var (
	ErrUnknown = errors.New("no such change")
	ErrUsed    = errors.New("change already applied or declined")
	ErrExpired = errors.New("change expired")
)

// Store keeps plans of type T. It is safe for concurrent use.
type Store[T any] struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	plans map[string]*entry[T]
}

type entry[T any] struct {
	owner   string
	plan    T
	made    time.Time
	expires time.Time
	used    bool
}

// New returns a store whose plans expire after ttl (DefaultTTL when 0).
func New[T any](ttl time.Duration) *Store[T] {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Store[T]{ttl: ttl, now: time.Now, plans: map[string]*entry[T]{}}
}

// SetClock replaces the store's clock (tests of expiry).
func (s *Store[T]) SetClock(now func() time.Time) { s.now = now }

// TTL is how long a plan may be applied.
func (s *Store[T]) TTL() time.Duration { return s.ttl }

// Put keeps a plan for owner and returns its id and when it expires.
func (s *Store[T]) Put(owner string, plan T) (string, time.Time) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := "chg-" + hex.EncodeToString(b[:])
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now, owner)
	e := &entry[T]{owner: owner, plan: plan, made: now, expires: now.Add(s.ttl)}
	s.plans[id] = e
	return id, e.expires
}

// Take returns owner's plan and marks it used: a second Take of it is
// ErrUsed, one after it expired ErrExpired, and another owner's or an
// unknown id ErrUnknown.
func (s *Store[T]) Take(owner, id string) (T, error) {
	var zero T
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.plans[id]
	switch {
	case !ok || e.owner != owner:
		return zero, fmt.Errorf("%w %q (unknown, or made by another caller)", ErrUnknown, id)
	case e.used:
		return zero, fmt.Errorf("%w: %s was used once, and a plan runs only once; make a new plan", ErrUsed, id)
	case !s.now().Before(e.expires):
		return zero, fmt.Errorf("%w: %s expired at %s (a plan may be applied for %s); make a new plan", ErrExpired, id, e.expires.UTC().Format(time.RFC3339), s.ttl)
	}
	e.used = true
	plan := e.plan
	var empty T
	e.plan = empty // nothing but the tombstone is kept
	return plan, nil
}

// Restore makes a plan owner took usable again (the human dismissed the
// question instead of answering it): apply_change may still run it, once,
// until it expires.
func (s *Store[T]) Restore(owner, id string, plan T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.plans[id]; ok && e.owner == owner && e.used {
		e.used, e.plan = false, plan
	}
}

// sweep forgets plans (and tombstones) long expired, and owner's oldest
// beyond perOwner. s.mu is held.
func (s *Store[T]) sweep(now time.Time, owner string) {
	var oldest string
	n := 0
	for id, e := range s.plans {
		if now.Sub(e.expires) > s.ttl {
			delete(s.plans, id)
			continue
		}
		if e.owner == owner {
			n++
			if oldest == "" || e.made.Before(s.plans[oldest].made) {
				oldest = id
			}
		}
	}
	if n >= perOwner {
		delete(s.plans, oldest)
	}
}
