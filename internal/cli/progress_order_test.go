package cli

import (
	"io"
	"strings"
	"testing"
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
