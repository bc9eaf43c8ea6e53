// Package testutil holds what tests of several packages share; production
// code never imports it.
package testutil

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing the test when timeout
// passes first: a condition on another goroutine's or process's state,
// never a sleep standing in for synchronisation. Give timeouts that a
// loaded 2-core machine meets with room to spare.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronising
	}
}
