package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	gojson "github.com/goccy/go-json"
	"github.com/jmespath-community/go-jmespath"
)

// maxExpressionLen bounds a jmespath argument.
const maxExpressionLen = 2048

// ErrNotJSON is returned by Projection.Apply for an answer that holds no
// JSON to project.
var ErrNotJSON = errors.New("the answer is not JSON")

// Projection is a compiled JMESPath expression with the AWS CLI's --query
// semantics: it is applied to the JSON an account answered, and its result
// is printed as JSON. It is safe for concurrent use.
type Projection struct {
	expr     string
	compiled jmespath.JMESPath
}

// Compile parses a JMESPath expression; "" compiles to nil (no projection).
func Compile(expr string) (*Projection, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil
	}
	if len(expr) > maxExpressionLen {
		return nil, fmt.Errorf("jmespath is %d characters long; at most %d are accepted", len(expr), maxExpressionLen)
	}
	c, err := jmespath.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("jmespath %q is not a valid JMESPath expression: %v", expr, err)
	}
	return &Projection{expr: expr, compiled: c}, nil
}

// String returns the expression.
func (p *Projection) String() string {
	if p == nil {
		return ""
	}
	return p.expr
}

// Apply projects an upstream tools/call result: the JSON in its text
// content, else its structured content. It returns the projection as
// compact JSON text. An answer without JSON is ErrNotJSON.
func (p *Projection) Apply(data json.RawMessage) (string, error) {
	input, err := jsonOf(data)
	if err != nil {
		return "", err
	}
	return p.search(input)
}

// applyEntry projects an entry's answer, from its kept text when it has
// one (no decoding of the tools/call result).
func (p *Projection) applyEntry(e Entry) (string, error) {
	if e.hasText {
		var v any
		if gojson.Unmarshal([]byte(e.text), &v) == nil {
			return p.search(scriptValue(v))
		}
	}
	return p.Apply(e.withData().Data)
}

func (p *Projection) search(input any) (string, error) {
	out, err := p.compiled.Search(input)
	if err != nil {
		return "", fmt.Errorf("jmespath %q: %v", p.expr, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return "", fmt.Errorf("jmespath %q: encode the projection: %v", p.expr, err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// Entry projects one entry: a successful answer's data becomes the
// projection (a tools/call result with one text item); an answer that
// cannot be projected becomes an error entry saying why. Other entries are
// returned as they are.
func (p *Projection) Entry(e Entry) Entry {
	if p == nil || e.Status != StatusSuccess || !e.hasData() || e.brief {
		return e // a brief entry is projected already
	}
	text, err := p.applyEntry(e)
	switch {
	case errors.Is(err, ErrNotJSON):
		e.Status, e.ErrorCode = StatusError, CodeNotJSON
		e.Error = fmt.Sprintf("the answer (%s) is not JSON, so the jmespath does not apply; get_result without jmespath shows it", Size(len(e.Answer())))
		e.Data, e.text, e.hasText, e.shape = nil, "", false, shapeWhole
	case err != nil:
		e.Status, e.ErrorCode, e.Error, e.Data = StatusError, CodeProjection, err.Error(), nil
		e.text, e.hasText, e.shape = "", false, shapeWhole
	default:
		e = e.withProjection(text)
	}
	return e
}

// Entries projects entries in place, on every CPU: decoding hundreds of
// stored answers is the whole cost of a re-projection.
func (p *Projection) Entries(entries []Entry) {
	if p == nil {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), (len(entries)+15)/16)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(entries); i = int(next.Add(1) - 1) {
				entries[i] = p.Entry(entries[i])
			}
		})
	}
	wg.Wait()
}

// jsonOf decodes the JSON an answer carries: its text content when that is
// JSON, else its structured content.
func jsonOf(data json.RawMessage) (any, error) {
	var r toolResult
	if err := gojson.Unmarshal(data, &r); err != nil {
		return nil, ErrNotJSON
	}
	var texts []string
	for _, c := range r.Content {
		if c.Type == "text" {
			texts = append(texts, c.Text)
		}
	}
	if len(texts) > 0 {
		var v any
		if gojson.Unmarshal([]byte(strings.Join(texts, "\n")), &v) == nil {
			return scriptValue(v), nil
		}
	}
	if hasValue(r.StructuredContent) {
		var v any
		if gojson.Unmarshal(r.StructuredContent, &v) == nil {
			return scriptValue(v), nil
		}
	}
	return nil, ErrNotJSON
}

// scriptValue returns the return_value of a successful script answer
// (aws___run_script: {"status": "success", "return_value": ..., "api_calls":
// [...]}), so that a projection, the grouping of identical answers and the
// text see what the script computed, not its envelope. Anything else is
// returned as it is.
func scriptValue(v any) any {
	value, _ := scriptReturn(v)
	return value
}

// scriptReturn returns a script answer's return_value and true, or v and
// false.
func scriptReturn(v any) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok || m["status"] != "success" {
		return v, false
	}
	value, hasValue := m["return_value"]
	if _, hasCalls := m["api_calls"]; !hasValue || !hasCalls {
		return v, false
	}
	return value, true
}

// Size renders a byte count for people: "830 B", "12.1 KiB", "3.4 MiB".
func Size(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// suggest proposes a projection that shrinks an answer like v: the first
// list of objects in it (one level of nesting deep at most), narrowed to a
// few identifying fields, as "Reservations[].Instances[].[InstanceId, State.Name, InstanceType]".
func suggest(v any) string {
	obj, ok := v.(map[string]any)
	if !ok {
		if _, isList := v.([]any); isList {
			return "length(@)"
		}
		return ""
	}
	key, elem := firstList(obj)
	if key == "" {
		return ""
	}
	path := key + "[]"
	if inner, ok := elem.(map[string]any); ok {
		if sub, subElem := firstList(inner); sub != "" {
			path, key, elem = path+"."+sub+"[]", sub, subElem
		}
	}
	fields := identifyingFields(key, elem)
	switch len(fields) {
	case 0:
		return "length(" + path + ")"
	case 1:
		return path + "." + fields[0]
	}
	return path + ".[" + strings.Join(fields, ", ") + "]"
}

// firstList returns the name and first element of the first (by name)
// non-empty list of objects in obj.
func firstList(obj map[string]any) (string, any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if list, ok := obj[k].([]any); ok && len(list) > 0 {
			if _, isObj := list[0].(map[string]any); isObj && simpleKey(k) {
				return k, list[0]
			}
		}
	}
	return "", nil
}

// identifyingFields picks up to three fields that name an element of the
// list called list: its own id or name first ("InstanceId" in
// "Instances"), then a name, a state or status, and a type.
func identifyingFields(list string, elem any) []string {
	m, ok := elem.(map[string]any)
	if !ok {
		return nil
	}
	singular := strings.TrimSuffix(list, "s")
	rank := func(k string) int {
		switch {
		case k == singular+"Id" || k == singular+"Name" || k == singular+"Arn":
			return 0
		case k == "Name" || k == "Id" || k == "Arn":
			return 1
		case strings.HasSuffix(k, "State") || strings.HasSuffix(k, "Status"):
			return 2
		case strings.HasSuffix(k, "Type"):
			return 3
		}
		return 9
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if simpleKey(k) && rank(k) < 9 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if ri, rj := rank(keys[i]), rank(keys[j]); ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys {
		if len(out) == 3 {
			break
		}
		switch val := m[k].(type) {
		case string, float64, bool:
			out = append(out, k)
		case map[string]any:
			if _, ok := val["Name"].(string); ok {
				out = append(out, k+".Name")
			}
		}
	}
	return out
}

// simpleKey reports whether k can be written bare in a JMESPath expression.
func simpleKey(k string) bool {
	if k == "" || !(k[0] == '_' || k[0] >= 'A' && k[0] <= 'Z' || k[0] >= 'a' && k[0] <= 'z') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
