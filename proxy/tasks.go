package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// taskTracker makes query_all work as an MCP task (a task-augmented
// tools/call, protocol 2025-11-25). mcp-go v1.2.1 runs such a call of a
// regular tool under the tools/call request's context, which ends as soon
// as the task is created, so the fan-out would be cancelled at once. The
// tracker learns each task's id from mcp-go's hooks (the request's task
// parameters are the link: the hooks see the request, the handler gets a
// copy holding the same pointer), runs the call detached from the request,
// and cancels it on tasks/cancel instead.
type taskTracker struct {
	mu sync.Mutex
	// params holds the task parameters of tools/call requests in flight,
	// by request context; ids maps them to the task created for them.
	params    map[context.Context]*mcp.TaskParams
	ids       map[*mcp.TaskParams]string
	cancels   map[string]context.CancelFunc
	cancelled map[string]bool
	// owners names the caller of each task, while it runs and for
	// ownerMemory after it ended (its status notification is still on
	// its way to the caller's stream then).
	owners map[string]taskOwner
}

// Task lifetimes. mcp-go keeps a task without a ttl forever, so a task's
// ttl is DefaultTaskTTL when the client gives none, and at most MaxTaskTTL.
const (
	DefaultTaskTTL = time.Hour
	MaxTaskTTL     = 24 * time.Hour
)

// boundTaskTTL gives a task the default ttl, or caps the client's.
func boundTaskTTL(p *mcp.TaskParams) {
	if p.TTL == nil || *p.TTL <= 0 {
		ttl := DefaultTaskTTL.Milliseconds()
		p.TTL = &ttl
	} else if *p.TTL > MaxTaskTTL.Milliseconds() {
		ttl := MaxTaskTTL.Milliseconds()
		p.TTL = &ttl
	}
}

// ownerMemory is how long the owner of an ended task is remembered.
const ownerMemory = 10 * time.Minute

type taskOwner struct {
	caller string
	ended  time.Time
}

func newTaskTracker() *taskTracker {
	return &taskTracker{
		params:    map[context.Context]*mcp.TaskParams{},
		ids:       map[*mcp.TaskParams]string{},
		cancels:   map[string]context.CancelFunc{},
		cancelled: map[string]bool{},
		owners:    map[string]taskOwner{},
	}
}

// owner returns the id of the caller that started a task ("" for none).
func (t *taskTracker) owner(taskID string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.owners[taskID]
	return o.caller, ok
}

// hooks records the task parameters of each tools/call in flight.
func (t *taskTracker) hooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddBeforeCallTool(func(ctx context.Context, _ any, req *mcp.CallToolRequest) {
		if req.Params.Task == nil {
			return
		}
		boundTaskTTL(req.Params.Task)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.params[ctx] = req.Params.Task
	})
	forget := func(ctx context.Context) {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.params, ctx)
	}
	h.AddAfterCallTool(func(ctx context.Context, _ any, _ *mcp.CallToolRequest, _ any) { forget(ctx) })
	h.AddOnError(func(ctx context.Context, _ any, method mcp.MCPMethod, _ any, _ error) {
		if method == mcp.MethodToolsCall {
			forget(ctx)
		}
	})
	return h
}

// taskHooks link a created task to its request, and cancel the detached
// call when the client cancels the task.
func (t *taskTracker) taskHooks() *server.TaskHooks {
	h := &server.TaskHooks{}
	h.AddOnTaskCreated(func(ctx context.Context, m server.TaskMetrics) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if p := t.params[ctx]; p != nil {
			t.ids[p] = m.TaskID
		}
		now := time.Now()
		for id, o := range t.owners {
			if !o.ended.IsZero() && now.Sub(o.ended) > ownerMemory {
				delete(t.owners, id)
			}
		}
		var caller string
		if c := CallerFrom(ctx); c != nil {
			caller = c.ID
		}
		t.owners[m.TaskID] = taskOwner{caller: caller}
	})
	ended := func(_ context.Context, m server.TaskMetrics) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if o, ok := t.owners[m.TaskID]; ok {
			o.ended = time.Now()
			t.owners[m.TaskID] = o
		}
	}
	h.AddOnTaskCompleted(ended)
	h.AddOnTaskFailed(ended)
	h.AddOnTaskCancelled(ended)
	h.AddOnTaskCancelled(func(_ context.Context, m server.TaskMetrics) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if cancel := t.cancels[m.TaskID]; cancel != nil {
			cancel()
			return
		}
		t.cancelled[m.TaskID] = true
	})
	return h
}

// detach returns the context a tool call runs in: for a task, one that
// keeps the request's values but not its end, cancelled by tasks/cancel or
// when life ends; otherwise ctx itself. done releases it.
func (t *taskTracker) detach(ctx context.Context, req mcp.CallToolRequest, life context.Context) (context.Context, func()) {
	if t == nil || req.Params.Task == nil {
		return ctx, func() {}
	}
	detached, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopLife := context.AfterFunc(life, cancel)
	t.mu.Lock()
	id := t.ids[req.Params.Task]
	delete(t.ids, req.Params.Task)
	if id != "" {
		t.cancels[id] = cancel
		if t.cancelled[id] {
			cancel()
		}
		delete(t.cancelled, id)
	}
	t.mu.Unlock()
	return detached, func() {
		stopLife()
		cancel()
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.cancels, id)
	}
}

// TaskOwner returns the id of the caller (Caller.ID) that started the MCP
// task taskID through this service's server, "" for a task started with no
// caller; ok is false for a task it does not know (or forgot, ownerMemory
// after it ended).
func (s *Service) TaskOwner(taskID string) (caller string, ok bool) {
	if s.tasks == nil {
		return "", false
	}
	return s.tasks.owner(taskID)
}
