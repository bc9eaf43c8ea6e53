package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// progressOrder keeps a progress notification from reaching a stdio
// client after its request's result, or in the same read as it. mcp-go
// writes notifications from a goroutine of their own (StdioServer.handleNotifications) while results
// are written by the request's worker, so the last progress of a call can
// trail its result, and a client then logs an unknown progress token
// (Claude Code does). It learns each request's progress token from stdin
// and drops, on stdout, a progress notification whose request has been
// answered. mcp-go should write a request's notifications and its result
// in order; until it does, this is our layer.
//
// Written before the result is not enough: the official TypeScript SDK
// handles a response at once but each notification in a microtask, so a
// notification that arrives in the same read as its response is handled
// after the response removed its handler. So a result whose request had a
// notification written less than hold ago waits out the rest of hold:
// the client, reading as data arrives, takes the notification in a read
// of its own. The tools send no notification for the target that ends a
// call and at most one per 250 ms (proxy.progressNotes), so this wait is
// rare and short.
type progressOrder struct {
	hold time.Duration

	mu       sync.Mutex
	tokens   map[string]string    // request id → its progress token, as raw JSON
	answered map[string]bool      // tokens whose request has been answered
	order    []string             // answered tokens, oldest first
	notified map[string]time.Time // token → when its last notification was written
}

// progressHold is how long a result waits after a notification of its own
// request: far longer than a client takes to read what arrived, far
// shorter than a person notices.
const progressHold = 100 * time.Millisecond

// maxAnswered bounds the tokens remembered as answered.
const maxAnswered = 4096

// maxLine bounds a line of stdin read for its progress token.
const maxLine = 1 << 20

func newProgressOrder() *progressOrder {
	return &progressOrder{hold: progressHold, tokens: map[string]string{}, answered: map[string]bool{}, notified: map[string]time.Time{}}
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
	delete(o.notified, token) // a new request of the token starts with no notification
}

// pass reports whether a message the server writes may go out, and how
// long it must wait first; it marks a result's request answered.
func (o *progressOrder) pass(msg []byte) (bool, time.Duration) {
	if bytes.Contains(msg, []byte(`"notifications/progress"`)) {
		var m message
		if json.Unmarshal(msg, &m) != nil || m.Method != "notifications/progress" {
			return true, 0
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		token := string(m.Params.ProgressToken)
		if o.answered[token] {
			return false, 0
		}
		o.notified[token] = time.Now()
		return true, 0
	}
	id, ok := responseID(msg)
	if !ok {
		return true, 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var wait time.Duration
	if token, ok := o.tokens[id]; ok {
		delete(o.tokens, id)
		o.answered[token] = true
		o.order = append(o.order, token)
		if at, ok := o.notified[token]; ok {
			wait = o.hold - time.Since(at)
			delete(o.notified, token)
		}
	}
	for len(o.order) > maxAnswered {
		delete(o.answered, o.order[0])
		o.order = o.order[1:]
	}
	return true, max(wait, 0)
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
// trail its result, and a result after a pause when a notification of its
// request was just written. mcp-go writes one message a Write, under its
// own lock, so the pause holds back every later message too: nothing
// overtakes the result.
func (o *progressOrder) writer(w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		ok, wait := o.pass(p)
		if !ok {
			return len(p), nil
		}
		if wait > 0 {
			time.Sleep(wait) // the pause is the point: the notification's read comes first
		}
		return w.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
