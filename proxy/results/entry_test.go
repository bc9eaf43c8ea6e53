package results

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestKeptRebuildsWhatItsTextCarries: an answer its text carries whole (one
// text item; or a script's, whose structured content is the text's JSON)
// is kept as that text alone and rebuilt equal as JSON, with the same
// value; any other answer keeps its data.
func TestKeptRebuildsWhatItsTextCarries(t *testing.T) {
	t.Parallel()
	script := `{\"status\": \"success\", \"return_value\": {\"n\": 2}, \"api_calls\": []}`
	for _, c := range []struct {
		name, data string
		textOnly   bool
		// rebuilt is what the text rebuilds, when not data itself.
		rebuilt string
	}{
		{"plain", `{"content":[{"type":"text","text":"hello"}],"isError":false}`, true, ""},
		{"plain without isError", `{"content":[{"type":"text","text":"[1, 2]"}]}`, true, `{"content":[{"type":"text","text":"[1, 2]"}],"isError":false}`},
		{"script mirror", `{"content":[{"type":"text","text":"` + script + `"}],"structuredContent":{"status":"success","return_value":{"n":2},"api_calls":[]},"isError":false}`, true, ""},
		{"failed script mirror", `{"content":[{"type":"text","text":"{\"status\": \"error\"}"}],"structuredContent":{"status":"error"},"isError":true}`, true, ""},
		{"structured content differs", `{"content":[{"type":"text","text":"{\"a\": 1}"}],"structuredContent":{"a":2},"isError":false}`, false, ""},
		{"text not JSON", `{"content":[{"type":"text","text":"a"}],"structuredContent":"a","isError":false}`, false, ""},
		{"two text items", `{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, false, ""},
		{"another field", `{"content":[{"type":"text","text":"{}"}],"structuredContent":{},"_meta":{"x":1}}`, false, ""},
		{"isError not a bool", `{"content":[{"type":"text","text":"{}"}],"structuredContent":{},"isError":"no"}`, false, ""},
		{"an image too", `{"content":[{"type":"text","text":"a"},{"type":"image","data":"AA==","mimeType":"image/png"}]}`, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			whole := Entry{Status: StatusSuccess, Data: json.RawMessage(c.data)}
			kept := whole.Kept()
			if textOnly := kept.Data == nil; textOnly != c.textOnly {
				t.Fatalf("kept as text alone: %v, want %v", textOnly, c.textOnly)
			}
			var want, got any
			rebuilt := c.rebuilt
			if rebuilt == "" {
				rebuilt = c.data
			}
			if err := json.Unmarshal([]byte(rebuilt), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(kept.Raw(), &got); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("rebuilt %s (%v), want %s", kept.Raw(), err, rebuilt)
			}
			if string(kept.Value()) != string(ValueOf(whole.Data)) {
				t.Errorf("value %s, want %s", kept.Value(), ValueOf(whole.Data))
			}
		})
	}
}
