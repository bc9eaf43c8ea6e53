// Package results turns fan-out answers into something an agent can read:
// it keeps every account's full answer in a store under a result id,
// projects answers with JMESPath, and renders a tool result that fits a
// byte budget while still naming every account and its status.
//
// It knows nothing of MCP sessions, accounts sources or credentials: the
// proxy hands it entries and gets back text and structured content.
package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"

	gojson "github.com/goccy/go-json"
)

// Status values of an Entry.
const (
	StatusSuccess = "success"
	StatusError   = "error"
	// StatusPending marks an account still running when the answer was
	// given; its answer lands in the stored result later.
	StatusPending = "pending"
	// StatusSkipped marks a target a change never started (its rollout
	// stopped first); Error says why.
	StatusSkipped = "skipped"
)

// Error codes of an Entry whose answer could not be projected.
const (
	// CodeNotJSON: a jmespath was given but the answer is not JSON.
	CodeNotJSON = "not_json"
	// CodeProjection: the jmespath failed on this answer (a type error in a
	// function, for example).
	CodeProjection = "projection_failed"
	// CodeNotKept: a successful answer the reply leaves out and the
	// result store could not keep, so get_result cannot read it.
	CodeNotKept = "not_kept"
)

// Entry is one account's (and region's) answer.
type Entry struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Region    string `json:"region"`
	// Status is StatusSuccess, StatusError, StatusPending or StatusSkipped.
	Status string `json:"status"`
	// Data is the upstream tools/call result (content, structuredContent,
	// isError), kept unchanged, or its projection. What an agent reads of
	// it is Value: the answer, never this envelope.
	Data json.RawMessage `json:"data,omitempty"`
	// DataOmitted says the answer did not fit the result budget; Bytes is
	// its size, and the stored result holds it.
	DataOmitted bool `json:"data_omitted,omitempty"`
	Bytes       int  `json:"bytes,omitempty"`
	// Error names the cause of a failure.
	Error string `json:"error,omitempty"`
	// ErrorCode classifies the failure (access_denied, timeout, ...).
	ErrorCode  string `json:"error_code,omitempty"`
	DurationMS int64  `json:"duration_ms"`

	// text caches the text content of Data (see WithText): reading an
	// answer again, to project or render it, then decodes only that. shape
	// says whether Data can be rebuilt from the text alone, so that a
	// store keeps only the text (see withData).
	text    string
	hasText bool
	shape   shape
	// projected says text is a projection's JSON: Value takes it as it is.
	projected bool

	// brief says the entry is in the form a reply needs (Brief): measured
	// says it has an answer, whose digest and size are here; value is the
	// answer itself, nil when only the result store holds it (a reply
	// reads it back with Answer.Load when it shows it).
	brief    bool
	measured bool
	value    json.RawMessage
	digest   [sha256.Size]byte
	size     int
	// unkept says the result store could not keep the answer: this entry
	// is all there is of it.
	unkept bool
}

// Brief returns the entry in the form a reply needs: a successful answer
// projected by p (when p is not nil) and reduced to its value (Value),
// with that value's digest and size; the upstream's result, and the data
// of a failure, are let go. A fan-out holds its entries in this form, so
// what it holds of an answer is what a reply could show of it.
func (e Entry) Brief(p *Projection) Entry {
	if e.brief {
		return e
	}
	if e.Status == StatusSuccess && e.hasData() {
		e = p.Entry(e)
	}
	out := Entry{AccountID: e.AccountID, Name: e.Name, Region: e.Region, Status: e.Status, Error: e.Error,
		ErrorCode: e.ErrorCode, DurationMS: e.DurationMS, brief: true}
	if e.Status == StatusSuccess && e.hasData() {
		out.value = e.Value()
		out.measured, out.digest, out.size = true, sha256.Sum256(out.value), len(out.value)
	}
	return out
}

// HeldBytes is what a brief entry holds of its answer.
func (e Entry) HeldBytes() int { return len(e.value) }

// Unkept marks a brief entry whose answer the result store could not keep:
// a reply that does not show it says so, rather than pointing to
// get_result.
func (e Entry) Unkept() Entry {
	e.unkept = true
	return e
}

// Release returns a brief entry without its value, which a reply reads
// back from the result store if it shows it; an unkept answer is then
// gone, and a reply says so (error_code not_kept).
func (e Entry) Release() Entry {
	e.value = nil
	return e
}

// WithText returns the entry with the text content of its data decoded
// once and kept beside it, so that projecting and rendering it again cost
// no decoding of the tools/call result. Data whose answer is not in text
// content is left as it is.
func (e Entry) WithText() Entry {
	if e.hasText || e.Data == nil {
		return e
	}
	if text, shape, ok := textContent(e.Data); ok {
		e.text, e.hasText, e.shape = text, true, shape
	}
	return e
}

// Kept is the entry as it is kept in memory: its text decoded once, and an
// answer its text rebuilds (see shape) as that text alone, so that the
// fan-out and a memory store share one copy and a script's answer is not
// kept twice (as text and as the same JSON in structured content).
func (e Entry) Kept() Entry {
	e = e.WithText()
	if e.rebuilt() {
		e.Data = nil
	}
	return e
}

// Raw returns the upstream's tools/call result (rebuilt for an answer
// kept as its text).
func (e Entry) Raw() json.RawMessage { return e.withData().Data }

// hasData reports whether the entry has an answer: its data, or the text
// that rebuilds it, or a brief entry's value.
func (e Entry) hasData() bool { return e.Data != nil || e.rebuilt() || e.value != nil }

// rebuilt reports whether the entry's text rebuilds its whole Data.
func (e Entry) rebuilt() bool { return e.hasText && e.shape != shapeWhole }

// withData rebuilds the Data of an answer a store kept as its text.
func (e Entry) withData() Entry {
	if e.rebuilt() && e.Data == nil {
		e.Data = e.shape.data(e.text)
	}
	return e
}

// shape says how much of an upstream tools/call result its text content
// carries.
type shape uint8

const (
	// shapeWhole: the result holds more than its text; Data is needed.
	shapeWhole shape = iota
	// shapePlain: one text item, isError false, nothing else.
	shapePlain
	// shapeMirror: one text item whose JSON is the structured content (a
	// script's answer), isError false; shapeMirrorError with isError true.
	shapeMirror
	shapeMirrorError
)

// data rebuilds a result of this shape from its text: equal as JSON to
// what the upstream sent (its structured content compacted).
func (s shape) data(text string) json.RawMessage {
	if s == shapePlain {
		return plainData(text)
	}
	out, _ := gojson.Marshal(struct {
		Content           []map[string]string `json:"content"`
		StructuredContent json.RawMessage     `json:"structuredContent"`
		IsError           bool                `json:"isError"`
	}{[]map[string]string{{"type": "text", "text": text}}, compact(json.RawMessage(text)), s == shapeMirrorError})
	return out
}

// plainData rebuilds the data of a plain answer from its text: the
// tools/call result with that one text item.
func plainData(text string) json.RawMessage {
	out, _ := gojson.Marshal(struct {
		Content []map[string]string `json:"content"`
		IsError bool                `json:"isError"`
	}{[]map[string]string{{"type": "text", "text": text}}, false})
	return out
}

// Answer returns the readable answer of the entry's data (Text of it).
func (e Entry) Answer() string {
	if e.hasText {
		return e.text
	}
	return Text(e.Data)
}

// Value returns the entry's answer as compact JSON, what an agent reads of
// the account: a script's return_value, else the upstream's structured
// content, else its text (itself when it is JSON, else as a JSON string);
// for a projected entry, the projection. nil when the entry has no answer.
func (e Entry) Value() json.RawMessage {
	switch {
	case e.brief:
		return e.value
	case !e.hasData():
		return nil
	case e.projected:
		return json.RawMessage(e.text)
	case e.rebuilt():
		// A mirror's text is its structured content's JSON.
		return textValue(e.text)
	}
	return ValueOf(e.Data)
}

// ValueOf returns the answer of an upstream tools/call result, as
// Entry.Value does.
func ValueOf(data json.RawMessage) json.RawMessage {
	var r toolResult
	if gojson.Unmarshal(data, &r) != nil {
		return textValue(string(data))
	}
	if hasValue(r.StructuredContent) {
		return answerJSON(r.StructuredContent)
	}
	if text, ok := r.text(); ok {
		return textValue(text)
	}
	return compact(data)
}

// textValue is the answer a text carries: its JSON when it is JSON (a
// script's return_value when it is a script's envelope), else the text as
// a JSON string.
func textValue(text string) json.RawMessage {
	trimmed := strings.TrimSpace(text)
	if len(trimmed) > 0 && json.Valid([]byte(trimmed)) {
		return answerJSON(json.RawMessage(trimmed))
	}
	return jsonString(text)
}

// answerJSON is raw compacted, or the return_value of a successful script
// envelope ({"status": "success", "return_value": ..., "api_calls": [...]}).
func answerJSON(raw json.RawMessage) json.RawMessage {
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' && bytes.Contains(raw, []byte(`"return_value"`)) {
		var env struct {
			Status      string          `json:"status"`
			ReturnValue json.RawMessage `json:"return_value"`
			APICalls    json.RawMessage `json:"api_calls"`
		}
		if gojson.Unmarshal(trimmed, &env) == nil && env.Status == "success" && env.APICalls != nil {
			if env.ReturnValue == nil {
				return json.RawMessage("null")
			}
			return compact(env.ReturnValue)
		}
	}
	return compact(raw)
}

// compact removes insignificant space from JSON; anything else comes back
// as a JSON string.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return jsonString(string(raw))
	}
	return b.Bytes()
}

// jsonString encodes s as a JSON string, as a client writes it.
func jsonString(s string) json.RawMessage { return Marshal(s) }

// Finished reports whether the entry has its final outcome.
func (e Entry) Finished() bool { return e.Status != StatusPending }

// Summary counts the outcome of a fan-out.
type Summary struct {
	Total     int `json:"total"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// Pending counts accounts still running when the answer was given.
	Pending int `json:"pending"`
	// Skipped counts targets of a change that never started.
	Skipped int `json:"skipped,omitempty"`
	// Omitted counts entries whose data is not in this answer (see
	// data_omitted); the stored result has it.
	Omitted int `json:"omitted"`
	// Listed is how many entries results holds when the budget could not
	// hold one per account (the text still names every account).
	Listed int `json:"listed,omitempty"`
	// ResultID names the stored result that get_result reads.
	ResultID    string `json:"result_id,omitempty"`
	Accounts    int    `json:"accounts"`
	Regions     int    `json:"regions"`
	Concurrency int    `json:"concurrency"`
	DurationMS  int64  `json:"duration_ms"`
}

// Answer is a fan-out's answer: one Entry per account and region, in
// account order, plus a summary.
type Answer struct {
	ToolName string `json:"tool_name"`
	// JMESPath is the projection applied to every answer, if any.
	JMESPath string  `json:"jmespath,omitempty"`
	Results  []Entry `json:"results"`
	Summary  Summary `json:"summary"`
	// Warnings name account sources that failed (their accounts are
	// missing) and accounts two sources both named.
	Warnings []string `json:"warnings,omitempty"`
	// Advice is what the reply's note says first: a better way to ask
	// (the delegated administrator that answers for the organization).
	Advice []string `json:"advice,omitempty"`
	// Load reads back the answer (its value, projected as the entries
	// are) of brief entry i that holds none, from the result store; nil
	// when it cannot. Render calls it only for the answers it shows.
	Load func(i int) json.RawMessage `json:"-"`
}

// Count fills the summary's outcome counts from the entries.
func (a *Answer) Count() {
	a.Summary.Total, a.Summary.Succeeded, a.Summary.Failed, a.Summary.Pending, a.Summary.Skipped = len(a.Results), 0, 0, 0, 0
	for _, e := range a.Results {
		switch e.Status {
		case StatusSuccess:
			a.Summary.Succeeded++
		case StatusPending:
			a.Summary.Pending++
		case StatusSkipped:
			a.Summary.Skipped++
		default:
			a.Summary.Failed++
		}
	}
}

// toolResult is what this package reads of an upstream tools/call result.
// Answers are decoded with github.com/goccy/go-json: re-projecting 300
// stored DescribeInstances answers spends nearly all its time decoding JSON,
// and that decoder does it about four times faster than encoding/json
// (measured in BenchmarkReproject300).
type toolResult struct {
	IsError bool `json:"isError"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
}

// Text returns the readable answer of an upstream tools/call result: its
// text content, else its structured content, else the result's JSON. It is
// what get_result pages through, byte for byte.
func Text(data json.RawMessage) string {
	var r toolResult
	if gojson.Unmarshal(data, &r) == nil {
		if text, ok := r.text(); ok {
			return text
		}
		if hasValue(r.StructuredContent) {
			return string(r.StructuredContent)
		}
	}
	return string(data)
}

// textContent returns the joined text items of a tools/call result, its
// shape (whether the text alone rebuilds it), and whether it has any text.
func textContent(data json.RawMessage) (text string, sh shape, ok bool) {
	var fields map[string]json.RawMessage
	if gojson.Unmarshal(data, &fields) != nil {
		return "", shapeWhole, false
	}
	var items []map[string]json.RawMessage
	if gojson.Unmarshal(fields["content"], &items) != nil {
		return "", shapeWhole, false
	}
	var parts []string
	single := len(items) == 1
	for _, item := range items {
		var typ, t string
		if gojson.Unmarshal(item["type"], &typ) != nil || typ != "text" {
			single = false
			continue
		}
		if gojson.Unmarshal(item["text"], &t) != nil {
			return "", shapeWhole, false
		}
		parts = append(parts, t)
		single = single && len(item) == 2
	}
	text = strings.Join(parts, "\n")
	return text, shapeOf(fields, text, single), len(parts) > 0
}

// shapeOf is the shape of a result whose fields are these and whose one
// text item (single) is text.
func shapeOf(fields map[string]json.RawMessage, text string, single bool) shape {
	if !single {
		return shapeWhole
	}
	isError := string(fields["isError"])
	structured, hasStructured := fields["structuredContent"]
	for k := range fields {
		if k != "content" && k != "isError" && k != "structuredContent" {
			return shapeWhole
		}
	}
	switch {
	case !hasStructured && (isError == "" || isError == "false"):
		return shapePlain
	case !hasStructured || isError != "" && isError != "false" && isError != "true":
		return shapeWhole
	case !bytes.Equal(compact(structured), compact(json.RawMessage(text))) || !json.Valid([]byte(text)):
		return shapeWhole
	case isError == "true":
		return shapeMirrorError
	}
	return shapeMirror
}

func (r *toolResult) text() (string, bool) {
	var parts []string
	for _, c := range r.Content {
		if c.Type == "text" {
			parts = append(parts, c.Text)
		}
	}
	return strings.Join(parts, "\n"), len(parts) > 0
}

func hasValue(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// textData wraps text as a tools/call result with one text item: the shape
// of a projected answer.
func textData(text string) json.RawMessage {
	out, _ := json.Marshal(struct {
		Content []map[string]string `json:"content"`
	}{[]map[string]string{{"type": "text", "text": text}}})
	return out
}

// withProjection sets an entry's data to a projected answer, text kept.
func (e Entry) withProjection(text string) Entry {
	e.Data, e.text, e.hasText, e.shape, e.projected = textData(text), text, true, shapeWhole, true
	return e
}
