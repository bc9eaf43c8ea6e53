package proxy

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// TestBoundTaskTTL: a task gets a ttl (mcp-go would keep one without it
// forever), and a client cannot ask for more than MaxTaskTTL.
func TestBoundTaskTTL(t *testing.T) {
	t.Parallel()
	ms := func(d time.Duration) *int64 { v := d.Milliseconds(); return &v }
	tests := []struct {
		name string
		ttl  *int64
		want time.Duration
	}{
		{"none", nil, DefaultTaskTTL},
		{"zero", ms(0), DefaultTaskTTL},
		{"ten minutes", ms(10 * time.Minute), 10 * time.Minute},
		{"a year", ms(365 * 24 * time.Hour), MaxTaskTTL},
	}
	for _, tt := range tests {
		p := &mcp.TaskParams{TTL: tt.ttl}
		boundTaskTTL(p)
		if p.TTL == nil || time.Duration(*p.TTL)*time.Millisecond != tt.want {
			t.Errorf("%s: ttl %v, want %s", tt.name, p.TTL, tt.want)
		}
	}
}

// TestTasksGetALifetime: a task-augmented query_all without a ttl becomes
// a task with DefaultTaskTTL, through the server's hooks.
func TestTasksGetALifetime(t *testing.T) {
	t.Parallel()
	stack := fakeaws.Start(fakeaws.Options{Tools: fakeaws.ToolsBefore20260831, Accounts: fakeaws.NumberedAccounts(1)})
	t.Cleanup(stack.Close)
	svc, _ := testService(t, stack, Config{Concurrency: 1, Timeout: 10 * time.Second})
	srv := NewServer(svc, "test")
	reply := srv.HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query_all",`+
		`"arguments":{"tool_name":"aws___call_aws","arguments":{"cli_command":"aws sts get-caller-identity"}},"task":{}}}`))
	raw, _ := json.Marshal(reply)
	var out struct {
		Result mcp.CreateTaskResult `json:"result"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Result.Task.TaskId == "" {
		t.Fatalf("task-augmented tools/call: %s", raw)
	}
	if ttl := out.Result.Task.TTL; ttl == nil || *ttl != DefaultTaskTTL.Milliseconds() {
		t.Errorf("the task's ttl is %v, want %d ms", ttl, DefaultTaskTTL.Milliseconds())
	}
}
