package teamserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// sessionIdle is how long an unused session id is remembered.
const sessionIdle = 24 * time.Hour

// callerSessions issues MCP session ids bound to the caller that opened
// them: another caller presenting the id is answered as if it did not
// exist, so one caller can never reach another's session state (its tasks,
// its notifications).
type callerSessions struct {
	mu       sync.Mutex
	sessions map[string]*sessionOwner
	issued   int
}

type sessionOwner struct {
	caller     string
	lastUsed   time.Time
	terminated bool
}

func newCallerSessions() *callerSessions {
	return &callerSessions{sessions: map[string]*sessionOwner{}}
}

// ResolveSessionIdManager binds the manager to the request's caller (a
// nil request is the server itself, closing sessions at shutdown).
func (c *callerSessions) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	b := &boundSessions{all: c, admin: r == nil}
	if r != nil {
		if caller := proxy.CallerFrom(r.Context()); caller != nil {
			b.caller = caller.ID
		}
	}
	return b
}

type boundSessions struct {
	all    *callerSessions
	caller string
	admin  bool
}

var errNoSession = errors.New("session not found")

func (b *boundSessions) Generate() string {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err)
	}
	id := "mcp-session-" + hex.EncodeToString(raw[:])
	c := b.all
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.issued++; c.issued%1024 == 0 {
		for k, s := range c.sessions {
			if s.terminated || now.Sub(s.lastUsed) > sessionIdle {
				delete(c.sessions, k)
			}
		}
	}
	c.sessions[id] = &sessionOwner{caller: b.caller, lastUsed: now}
	return id
}

func (b *boundSessions) owned(id string) (*sessionOwner, bool) {
	s, ok := b.all.sessions[id]
	if !ok || (!b.admin && s.caller != b.caller) {
		return nil, false
	}
	return s, true
}

// owns reports whether session id is a live session of caller.
func (c *callerSessions) owns(caller, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[id]
	return ok && s.caller == caller && !s.terminated
}

func (b *boundSessions) Validate(id string) (bool, error) {
	b.all.mu.Lock()
	defer b.all.mu.Unlock()
	s, ok := b.owned(id)
	if !ok {
		return false, errNoSession
	}
	s.lastUsed = time.Now()
	return s.terminated, nil
}

func (b *boundSessions) Terminate(id string) (bool, error) {
	b.all.mu.Lock()
	defer b.all.mu.Unlock()
	if s, ok := b.owned(id); ok {
		s.terminated = true
	}
	return false, nil
}
