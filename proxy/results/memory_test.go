package results

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func answerOf(entries ...Entry) *Answer {
	a := &Answer{ToolName: "t", Results: entries}
	a.Count()
	return a
}

func success(account string, size int) Entry {
	return Entry{AccountID: account, Name: "n", Region: "us-east-1", Status: StatusSuccess, Data: textData(strings.Repeat("x", size))}
}

func TestMemoryKeepsAndReadsResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(1<<20, time.Hour)
	defer m.Close()
	id, err := m.Create(ctx, "alice", answerOf(Entry{AccountID: "222222222222", Region: "us-east-1", Status: StatusPending}))
	if err != nil || !ValidID(id) {
		t.Fatalf("Create = %q, %v", id, err)
	}
	if err := m.Put(ctx, "alice", id, 0, success("222222222222", 10)); err != nil {
		t.Fatal(err)
	}
	if err := m.Finish(ctx, "alice", id, Summary{Total: 1, Succeeded: 1}); err != nil {
		t.Fatal(err)
	}
	rec, err := m.Get(ctx, "alice", id, true)
	if err != nil || rec.Answer.Results[0].Status != StatusSuccess || rec.Answer.Summary.ResultID != id || rec.Answer.Summary.Succeeded != 1 {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
	e, err := m.Entry(ctx, "alice", id, 0)
	if err != nil || Text(e.Data) != "xxxxxxxxxx" {
		t.Fatalf("Entry = %+v, %v", e, err)
	}
	// Another owner cannot tell the result exists.
	_, err = m.Get(ctx, "mallory", id, true)
	var lookup *LookupError
	if !errors.As(err, &lookup) || lookup.Reason != "unknown" || !errors.Is(err, ErrNotFound) {
		t.Errorf("another owner's Get = %v, want unknown", err)
	}
	if _, err := m.Get(ctx, "alice", NewID(), false); !errors.As(err, &lookup) || lookup.Reason != "unknown" {
		t.Errorf("Get of a new id = %v, want unknown", err)
	}
}

func TestMemoryExpiresAndEvicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := NewMemory(64<<10, 30*time.Minute)
	defer m.Close()
	m.SetClock(clock)
	old, _ := m.Create(ctx, "", answerOf(success("222222222222", 20<<10)))
	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	second, _ := m.Create(ctx, "", answerOf(success("333333333333", 20<<10)))
	third, _ := m.Create(ctx, "", answerOf(success("444444444444", 30<<10)))
	// 70 KiB do not fit 64: the oldest went.
	var lookup *LookupError
	if _, err := m.Get(ctx, "", old, false); !errors.As(err, &lookup) || lookup.Reason != "evicted" || !strings.Contains(err.Error(), "dropped to make room") {
		t.Errorf("oldest result: %v, want evicted", err)
	}
	if m.Bytes() > 64<<10 {
		t.Errorf("store holds %d bytes, over its 64 KiB", m.Bytes())
	}
	mu.Lock()
	now = now.Add(30 * time.Minute)
	mu.Unlock()
	for _, id := range []string{second, third} {
		if _, err := m.Get(ctx, "", id, false); !errors.As(err, &lookup) || lookup.Reason != "expired" || !strings.Contains(err.Error(), "expired") {
			t.Errorf("result after its TTL: %v, want expired", err)
		}
	}
	if m.Bytes() != 0 {
		t.Errorf("expired results still hold %d bytes", m.Bytes())
	}
}

// TestMemoryKeepsWhatFitsOfOneHugeResult: a result larger than the whole
// store keeps the answers that fit; the others say they were not kept.
func TestMemoryKeepsWhatFitsOfOneHugeResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(100<<10, time.Hour)
	defer m.Close()
	var entries []Entry
	for range 5 {
		entries = append(entries, Entry{Status: StatusPending})
	}
	id, _ := m.Create(ctx, "", answerOf(entries...))
	notKept := 0
	for i := range 5 {
		switch err := m.Put(ctx, "", id, i, success("222222222222", 30<<10)); {
		case errors.Is(err, ErrNotKept):
			notKept++
		case err != nil:
			t.Fatal(err)
		}
	}
	kept := 0
	for i := range 5 {
		_, err := m.Entry(ctx, "", id, i)
		switch {
		case err == nil:
			kept++
		case !errors.Is(err, ErrNotKept):
			t.Errorf("entry %d: %v", i, err)
		}
	}
	if kept != 3 || m.Bytes() > 100<<10 {
		t.Errorf("kept %d answers of 30 KiB in a 100 KiB store (%d bytes), want 3", kept, m.Bytes())
	}
	if notKept != 5-kept {
		t.Errorf("Put said %d answers were not kept, Entry %d", notKept, 5-kept)
	}
}

func TestRecordFind(t *testing.T) {
	t.Parallel()
	rec := &Record{ID: "r-x", Answer: *answerOf(
		Entry{AccountID: "222222222222", Region: "us-east-1"},
		Entry{AccountID: "222222222222", Region: "eu-west-1"},
		Entry{AccountID: "333333333333", Region: "us-east-1"},
	)}
	tests := []struct {
		account, region string
		want            int
		err             string
	}{
		{"333333333333", "", 2, ""},
		{"222222222222", "eu-west-1", 1, ""},
		{"222222222222", "", 0, "several regions (us-east-1, eu-west-1): give region"},
		{"222222222222", "ap-south-1", 0, "no answer of account 222222222222 in region ap-south-1"},
		{"444444444444", "", 0, "no answer of account 444444444444"},
	}
	for _, tt := range tests {
		got, err := rec.Find(tt.account, tt.region)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Find(%s, %q) = %v, want error %q", tt.account, tt.region, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Find(%s, %q) = %d, %v; want %d", tt.account, tt.region, got, err, tt.want)
		}
	}
}

// TestMemoryKeepsPlainAnswersAsText: an answer that is one text item is
// kept as that text (half the memory of its JSON) and read back the same;
// any other answer is kept as it came.
func TestMemoryKeepsPlainAnswersAsText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(1<<20, time.Hour)
	defer m.Close()
	text := "{\n    \"Buckets\": [\"a\\\"b\"]\n}"
	plain := Entry{AccountID: "222222222222", Status: StatusSuccess, Data: textData(text)}
	rich := Entry{AccountID: "333333333333", Status: StatusSuccess,
		Data: []byte(`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":1},"isError":false}`)}
	id, _ := m.Create(ctx, "", answerOf(plain.WithText(), rich.WithText()))
	rec, _ := m.Get(ctx, "", id, true)
	if got := rec.Answer.Results[0].Answer(); got != text {
		t.Errorf("plain answer read back as %q", got)
	}
	e, err := m.Entry(ctx, "", id, 0)
	if err != nil || Text(e.Data) != text {
		t.Errorf("Entry = %s, %v", e.Data, err)
	}
	e, _ = m.Entry(ctx, "", id, 1)
	if string(e.Data) != string(rich.Data) {
		t.Errorf("an answer with structured content changed: %s", e.Data)
	}
	if m.Bytes() >= int64(len(plain.Data)+len(text)+len(rich.Data)+2*entryOverhead) {
		t.Errorf("store holds %d bytes: the plain answer is kept twice", m.Bytes())
	}
}
