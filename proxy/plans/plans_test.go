package plans

import (
	"errors"
	"testing"
	"time"
)

func TestTakeOnceByItsOwnerBeforeItExpires(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	s := New[string](10 * time.Minute)
	s.SetClock(func() time.Time { return now })
	id, expires := s.Put("alice", "tag 40 buckets")
	if expires != now.Add(10*time.Minute) {
		t.Errorf("expires %v", expires)
	}
	expired, _ := s.Put("alice", "old")
	declined, _ := s.Put("alice", "declined")
	if _, err := s.Take("alice", declined); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		owner   string
		id      string
		advance time.Duration
		want    error
	}{
		{"another caller's plan", "bob", id, 0, ErrUnknown},
		{"an unknown id", "alice", "chg-nope", 0, ErrUnknown},
		{"the owner's plan", "alice", id, 0, nil},
		{"the same plan again", "alice", id, 0, ErrUsed},
		{"a used plan", "alice", declined, 0, ErrUsed},
		{"an expired plan", "alice", expired, 10 * time.Minute, ErrExpired},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		got, err := s.Take(tt.owner, tt.id)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Take = %q, %v; want %v", tt.name, got, err, tt.want)
		}
		if tt.want == nil && got != "tag 40 buckets" {
			t.Errorf("%s: plan %q", tt.name, got)
		}
	}
}

func TestOwnersKeepABoundedNumberOfPlans(t *testing.T) {
	s := New[int](0)
	first, _ := s.Put("mallory", 0)
	for i := 1; i <= perOwner; i++ {
		s.Put("mallory", i)
	}
	if _, err := s.Take("mallory", first); !errors.Is(err, ErrUnknown) {
		t.Errorf("the oldest of %d plans is still kept: %v", perOwner+1, err)
	}
	if len(s.plans) != perOwner {
		t.Errorf("%d plans kept, want %d", len(s.plans), perOwner)
	}
}
