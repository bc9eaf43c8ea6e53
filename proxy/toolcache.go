package proxy

import (
	"context"
	"sort"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// toolCache holds the upstream's tool definitions (for their read-only
// annotations), fetched once per process. Concurrent callers share one
// fetch and wait for it with their own context; a failed fetch is retried
// by the next caller.
type toolCache struct {
	mu       sync.Mutex
	tools    map[string]mcp.Tool
	fetching chan struct{}
	onChange func()
}

// set replaces the cached definitions and tells the listener when they
// changed.
func (c *toolCache) set(tools []mcp.Tool) map[string]mcp.Tool {
	byName := make(map[string]mcp.Tool, len(tools))
	for _, t := range tools {
		byName[t.Name] = t
	}
	c.mu.Lock()
	changed := !sameNames(c.tools, byName)
	c.tools = byName
	onChange := c.onChange
	c.mu.Unlock()
	if changed && onChange != nil {
		onChange()
	}
	return byName
}

// sameNames reports whether two tool sets name the same tools with the
// same descriptions.
func sameNames(a, b map[string]mcp.Tool) bool {
	if a == nil || len(a) != len(b) {
		return false
	}
	for n, t := range a {
		if u, ok := b[n]; !ok || u.Description != t.Description {
			return false
		}
	}
	return true
}

// list returns the cached definitions sorted by name, and whether there
// are any.
func (c *toolCache) list() ([]mcp.Tool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tools == nil {
		return nil, false
	}
	out := make([]mcp.Tool, 0, len(c.tools))
	for _, t := range c.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, true
}

// known reports whether the definitions have been fetched.
func (c *toolCache) known() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tools != nil
}

// notify sets the function called when the cached definitions change.
func (c *toolCache) notify(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = fn
}

// load returns the cached definitions, fetching them when there are none.
func (c *toolCache) load(ctx context.Context, fetch func(context.Context) ([]mcp.Tool, error)) (map[string]mcp.Tool, error) {
	for {
		c.mu.Lock()
		if c.tools != nil {
			tools := c.tools
			c.mu.Unlock()
			return tools, nil
		}
		if wait := c.fetching; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.fetching = done
		c.mu.Unlock()

		tools, err := fetch(ctx)
		var byName map[string]mcp.Tool
		if err == nil {
			byName = c.set(tools)
		}
		c.mu.Lock()
		c.fetching = nil
		c.mu.Unlock()
		close(done)
		return byName, err
	}
}
