package results

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProjection(t *testing.T) {
	t.Parallel()
	instances := textData(`{"Reservations":[{"Instances":[{"InstanceId":"i-1","State":{"Name":"running"}},{"InstanceId":"i-2","State":{"Name":"stopped"}}]},{"Instances":[]}]}`)
	structured := json.RawMessage(`{"content":[{"type":"text","text":"done"}],"structuredContent":{"Buckets":[{"Name":"a"},{"Name":"b"}]}}`)
	tests := []struct {
		name, expr string
		data       json.RawMessage
		want       string
		err        error
	}{
		{"ids", "Reservations[].Instances[].InstanceId", instances, `["i-1","i-2"]`, nil},
		{"pairs", "Reservations[].Instances[].[InstanceId, State.Name]", instances, `[["i-1","running"],["i-2","stopped"]]`, nil},
		{"count", "length(Reservations[].Instances[])", instances, `2`, nil},
		{"filter", "Reservations[].Instances[?State.Name=='running'].InstanceId[]", instances, `["i-1"]`, nil},
		{"structured content when the text is not JSON", "Buckets[].Name", structured, `["a","b"]`, nil},
		{"missing key", "Nothing", instances, `null`, nil},
		{"not JSON", "a", textData("plain words"), "", ErrNotJSON},
		{"no html escaping", "x", textData(`{"x":"<a&b>"}`), `"<a&b>"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Apply(tt.data)
			if err != tt.err || got != tt.want {
				t.Errorf("Apply = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCompileRefusesInvalidExpressions(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"Reservations[", "a.[", "length(", strings.Repeat("a.", 2000) + "b"} {
		if _, err := Compile(expr); err == nil || !strings.Contains(err.Error(), "jmespath") {
			t.Errorf("Compile(%.40q) = %v, want an error naming jmespath", expr, err)
		}
	}
	if p, err := Compile("  "); p != nil || err != nil {
		t.Errorf("an empty expression compiled to %v, %v", p, err)
	}
}

func TestProjectionEntry(t *testing.T) {
	t.Parallel()
	p, _ := Compile("length(@)")
	e := p.Entry(Entry{AccountID: "222222222222", Status: StatusSuccess, Data: textData("not json")})
	if e.Status != StatusError || e.ErrorCode != CodeNotJSON || e.Data != nil || !strings.Contains(e.Error, "not JSON") {
		t.Errorf("a text answer projected to %+v", e)
	}
	e = p.Entry(Entry{AccountID: "222222222222", Status: StatusSuccess, Data: textData(`{"a":1}`)})
	if e.Status != StatusSuccess || Text(e.Data) != "1" {
		t.Errorf("projected entry %+v", e)
	}
	e = p.Entry(Entry{AccountID: "222222222222", Status: StatusSuccess, Data: textData(`5`)})
	if e.Status != StatusError || e.ErrorCode != CodeProjection {
		t.Errorf("a type error projected to %+v", e)
	}
	var none *Projection
	if got := none.Entry(Entry{Status: StatusSuccess, Data: textData("x")}); Text(got.Data) != "x" {
		t.Errorf("no projection changed the entry: %+v", got)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	tests := []struct{ json, want string }{
		{`{"Reservations":[{"Instances":[{"InstanceId":"i","ImageId":"a","InstanceType":"t","State":{"Name":"r"},"SubnetId":"s"}]}]}`, "Reservations[].Instances[].[InstanceId, State.Name, InstanceType]"},
		{`{"Buckets":[{"Name":"b","CreationDate":"d"}],"Owner":{}}`, "Buckets[].Name"},
		{`[1,2]`, "length(@)"},
		{`{"a":1}`, ""},
	}
	for _, tt := range tests {
		var v any
		_ = json.Unmarshal([]byte(tt.json), &v)
		if got := suggest(v); got != tt.want {
			t.Errorf("suggest(%s) = %q, want %q", tt.json, got, tt.want)
		}
	}
}
