package cli

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestProgressNeverTrailsItsResult(t *testing.T) {
	o := newProgressOrder()
	in := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query_all","_meta":{"progressToken":"tok-7"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"query_all","_meta":{"progressToken":8}}}` + "\n"
	if _, err := io.ReadAll(o.reader(strings.NewReader(in))); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	w := o.writer(&out)
	for _, msg := range []string{
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok-7","progress":1,"total":2}}`, // before: kept
		`{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`,
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok-7","progress":2,"total":2}}`, // after: dropped
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":8,"progress":1,"total":2}}`,       // another call: kept
		`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}}`,                                  // not progress: kept
	} {
		if _, err := w.Write([]byte(msg + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	got := out.String()
	if strings.Count(got, `"tok-7"`) != 1 || !strings.Contains(got, `"progress":1,"total":2}}`) || !strings.Contains(got, `"progressToken":8`) ||
		!strings.Contains(got, `"id":7,"result"`) || !strings.Contains(got, "notifications/message") {
		t.Errorf("written:\n%s", got)
	}
}

// TestResultWaitsOutItsOwnNotification: a result whose request had a
// notification written just before waits out the rest of the hold, so the
// two reach the client in separate reads; a result after another call's
// notification, or after none, goes out at once.
func TestResultWaitsOutItsOwnNotification(t *testing.T) {
	o := newProgressOrder()
	o.hold = time.Hour // no clock in this test: "just before" is well within an hour
	in := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"a"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"progressToken":"b"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"_meta":{"progressToken":"c"}}}` + "\n"
	if _, err := io.ReadAll(o.reader(strings.NewReader(in))); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		msg      string
		pass     bool
		waitsMin time.Duration
		waitsMax time.Duration
	}{
		{`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"a","progress":1}}`, true, 0, 0},
		{`{"jsonrpc":"2.0","id":2,"result":{}}`, true, 0, 0},                        // b had no notification
		{`{"jsonrpc":"2.0","id":1,"result":{}}`, true, 59 * time.Minute, time.Hour}, // a's was just written
		{`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"a","progress":2}}`, false, 0, 0},
		{`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"c","progress":1}}`, true, 0, 0},
		{`{"jsonrpc":"2.0","id":"x","result":{}}`, true, 0, 0}, // an id never asked with a token
	}
	for i, s := range steps {
		ok, wait := o.pass([]byte(s.msg + "\n"))
		if ok != s.pass || wait < s.waitsMin || wait > s.waitsMax {
			t.Errorf("step %d %s: pass %v wait %v, want %v and a wait in [%v, %v]", i, s.msg, ok, wait, s.pass, s.waitsMin, s.waitsMax)
		}
	}
}
