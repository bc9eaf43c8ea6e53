package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// progressOrder keeps a progress notification from reaching a stdio
// client after its request's result. mcp-go writes notifications from a
// goroutine of their own (StdioServer.handleNotifications) while results
// are written by the request's worker, so the last progress of a call can
// trail its result, and a client then logs an unknown progress token
// (Claude Code does). It learns each request's progress token from stdin
// and drops, on stdout, a progress notification whose request has been
// answered. mcp-go should write a request's notifications and its result
// in order; until it does, this is our layer.
type progressOrder struct {
	mu       sync.Mutex
	tokens   map[string]string // request id → its progress token, as raw JSON
	answered map[string]bool   // tokens whose request has been answered
	order    []string          // answered tokens, oldest first
}

// maxAnswered bounds the tokens remembered as answered.
const maxAnswered = 4096

// maxLine bounds a line of stdin read for its progress token.
const maxLine = 1 << 20

func newProgressOrder() *progressOrder {
	return &progressOrder{tokens: map[string]string{}, answered: map[string]bool{}}
}

// message is what progressOrder reads of a JSON-RPC message.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
		ProgressToken json.RawMessage `json:"progressToken"`
	} `json:"params"`
}

// learn records the progress token of a request line from the client.
func (o *progressOrder) learn(line []byte) {
	var m message
	if json.Unmarshal(line, &m) != nil || len(m.ID) == 0 || len(m.Params.Meta.ProgressToken) == 0 {
		return
	}
	token := string(m.Params.Meta.ProgressToken)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tokens[string(m.ID)] = token
	delete(o.answered, token)
}

// pass reports whether a message the server writes may go out, and
// marks a result's request answered.
func (o *progressOrder) pass(msg []byte) bool {
	if bytes.Contains(msg, []byte(`"notifications/progress"`)) {
		var m message
		if json.Unmarshal(msg, &m) != nil || m.Method != "notifications/progress" {
			return true
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		return !o.answered[string(m.Params.ProgressToken)]
	}
	id, ok := responseID(msg)
	if !ok {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if token, ok := o.tokens[id]; ok {
		delete(o.tokens, id)
		o.answered[token] = true
		o.order = append(o.order, token)
	}
	for len(o.order) > maxAnswered {
		delete(o.answered, o.order[0])
		o.order = o.order[1:]
	}
	return true
}

// responseID reads the id of a response ({"jsonrpc", "id", "result" or
// "error"}) without decoding its result: mcp-go writes the id first.
func responseID(msg []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(msg))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", false
		}
		switch key {
		case "id":
			return string(value), true
		case "method":
			return "", false
		}
	}
	return "", false
}

// reader passes stdin through, learning the tokens of its requests.
func (o *progressOrder) reader(r io.Reader) io.Reader {
	return &learningReader{r: r, o: o}
}

type learningReader struct {
	r    io.Reader
	o    *progressOrder
	line []byte
	skip bool
}

func (l *learningReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			if !l.skip {
				l.o.learn(l.line)
			}
			l.line, l.skip = l.line[:0], false
			continue
		}
		if len(l.line) >= maxLine {
			l.skip = true
			continue
		}
		l.line = append(l.line, b)
	}
	return n, err
}

// writer passes the server's messages to stdout, less progress that would
// trail its result. mcp-go writes one message a Write.
func (o *progressOrder) writer(w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if !o.pass(p) {
			return len(p), nil
		}
		return w.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
