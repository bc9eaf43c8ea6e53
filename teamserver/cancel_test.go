package teamserver

import (
	"context"
	"encoding/json"
	"testing"
)

func TestInflightCancelsEveryRequestOfAKeyAndNoOther(t *testing.T) {
	f := newInflight()
	a1, cancelA1 := context.WithCancel(context.Background())
	a2, cancelA2 := context.WithCancel(context.Background())
	b, cancelB := context.WithCancel(context.Background())
	keyA, keyB := cancelKey("caller-a", "", json.RawMessage(`7`)), cancelKey("caller-b", "", json.RawMessage(` 7 `))
	untrackA1 := f.track(keyA, cancelA1)
	defer f.track(keyA, cancelA2)()
	defer f.track(keyB, cancelB)()
	if keyA == keyB {
		t.Fatal("two callers share a key")
	}
	if n := f.cancel(cancelKey("caller-a", "", json.RawMessage(`"7"`))); n != 0 {
		t.Errorf("the string id \"7\" cancelled %d requests of the number 7", n)
	}
	untrackA1()
	untrackA1 = f.track(keyA, cancelA1) // tracked again: still one request each
	defer untrackA1()
	if n := f.cancel(keyA); n != 2 || a1.Err() == nil || a2.Err() == nil {
		t.Errorf("cancel(%q) cancelled %d, want both of caller A's requests", keyA, n)
	}
	if b.Err() != nil {
		t.Error("caller B's request with the same id was cancelled")
	}
	if n := f.cancel(keyA); n != 0 {
		t.Errorf("a second cancel found %d requests", n)
	}
}
