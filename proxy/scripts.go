package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// A script's answer (aws___run_script) is JSON, as text and as structured
// content: {"status": "success"|"error"|"working", "return_value": ...,
// "api_calls": [...], "error": ..., "task_id": ..., "recommended_wait_seconds": ...}.
// A working answer is a task: aws___get_tasks {task_ids (at most 3),
// poll_iteration} reads it until it ends; tasks expire after 5 minutes
// (https://docs.aws.amazon.com/agent-toolkit/latest/userguide/understanding-mcp-server-tools.html).

// Bounds of the wait between two polls of a task.
const (
	defaultTaskWait = 2 * time.Second
	minTaskWait     = 100 * time.Millisecond
	maxTaskWait     = 30 * time.Second
)

// taskPollsPerCore is how many task polls a second the process sends per
// core at most, however many tasks wait: a poll costs the proxy about as
// much CPU as any upstream call (signing, TLS, JSON), and 10,000 accounts'
// scripts each polled every second as recommended kept two cores busy
// with polls alone, while the polls waited for CPU in memory (10,000 ×
// 12 s scripts peaked at 526 MiB; BENCHMARKS.md). With more tasks waiting
// than the budget, each waits its turn longer than recommended (at most
// maxTaskWait; tasks live 5 minutes), never less.
const taskPollsPerCore = 2000

// pollSpacing is the least wait between two polls of one task with
// waiting tasks in all: the poll budget shared among them.
func pollSpacing(waiting int64) time.Duration {
	perSecond := taskPollsPerCore * runtime.GOMAXPROCS(0)
	return time.Duration(float64(waiting) / float64(perSecond) * float64(time.Second))
}

// taskState is what a task answer says. AWS documents aws___get_tasks'
// arguments, not its answer: a finished task may carry the script's
// envelope nested under result, or on the task object itself (status,
// return_value, api_calls, error); both are read.
type taskState struct {
	Status      string          `json:"status"`
	TaskID      string          `json:"task_id"`
	Error       string          `json:"error"`
	Result      json.RawMessage `json:"result"`
	WaitSecs    float64         `json:"recommended_wait_seconds"`
	ReturnValue json.RawMessage `json:"return_value"`
	APICalls    json.RawMessage `json:"api_calls"`
}

// Task statuses as AWS's tool description and similar services spell them.
var (
	taskWorking   = []string{"working", "submitted", "pending", "running", "in_progress", "queued"}
	taskSucceeded = []string{"success", "succeeded", "completed", "complete", "done"}
	taskFailed    = []string{"error", "failed", "failure"}
	taskGone      = []string{"not_found", "expired", "cancelled", "canceled"}
)

// payloads are the JSON documents a tools/call result may carry: its
// structured content first, then each text item.
func payloads(data json.RawMessage) ([]json.RawMessage, error) {
	var r struct {
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	var out []json.RawMessage
	if len(r.StructuredContent) > 0 {
		out = append(out, r.StructuredContent)
	}
	for _, c := range r.Content {
		if c.Type == "text" {
			out = append(out, json.RawMessage(c.Text))
		}
	}
	return out, nil
}

// scriptEnvelope decodes the JSON of a script's answer, or nil when the
// answer is not one.
func scriptEnvelope(data json.RawMessage) *taskState {
	docs, _ := payloads(data)
	for _, doc := range docs {
		var st taskState
		if json.Unmarshal(doc, &st) == nil && st.Status != "" {
			return &st
		}
	}
	return nil
}

// scriptOutcome reports whether a script's answer (its envelope st, nil
// for none) is a failure, with its error code (access_denied when AWS
// denied an API call) and text.
func scriptOutcome(st *taskState, data json.RawMessage) (code, text string, failed bool) {
	if st == nil || st.Status != "error" {
		return "", "", false
	}
	msg := st.Error
	if msg == "" {
		msg = results.Text(data)
	}
	if strings.Contains(msg, "AccessDenied") || strings.Contains(msg, "is not authorized to perform") {
		return CodeAccessDenied, "script error: " + msg, true
	}
	return CodeToolError, "script error: " + msg, true
}

// awaitTask polls a script's task to its end, within ctx, and returns the
// final answer as a tools/call result with its envelope (decoded once, for
// scriptOutcome); any other answer is returned as it is. The polls go to
// the account's own session, one id a call, poll_iteration counting from
// 1, waiting as the upstream recommends.
func (s *Service) awaitTask(ctx context.Context, target upstream.Target, region string, data json.RawMessage) (json.RawMessage, *taskState, error) {
	st := scriptEnvelope(data)
	if st == nil || !working(st.Status) || st.TaskID == "" {
		return data, st, nil
	}
	waiting := s.polling.Add(1)
	defer s.polling.Add(-1)
	id, wait := st.TaskID, taskWait(st.WaitSecs, defaultTaskWait)
	for i := 1; ; i++ {
		timer := time.NewTimer(max(wait, min(pollSpacing(waiting), maxTaskWait)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, fmt.Errorf("task %s: %w", id, ctx.Err())
		case <-timer.C:
		}
		args, _ := json.Marshal(map[string]any{"task_ids": []string{id}, "poll_iteration": i})
		answer, err := s.pool.CallTool(ctx, target, GetTasksTool, args, region, true)
		if err != nil {
			return nil, nil, fmt.Errorf("poll task %s: %w", id, err)
		}
		if text, isErr := toolOutcome(answer); isErr {
			return nil, nil, fmt.Errorf("poll task %s: %s", id, text)
		}
		task, wait2, err := taskOf(answer, id)
		if err != nil {
			s.unreadableTask(answer)
			return nil, nil, fmt.Errorf("poll task %s: %w", id, err)
		}
		wait, waiting = taskWait(wait2, wait), s.polling.Load()
		status := strings.ToLower(task.Status)
		s.log.Debug("polled a script task", "account", target.AccountID, "task", id, "iteration", i, "status", status)
		switch {
		case slices.Contains(taskWorking, status):
			continue
		case slices.Contains(taskGone, status):
			return nil, nil, fmt.Errorf("%w: the AWS MCP Server no longer knows task %s (%s: %s); tasks expire after 5 minutes", errTaskExpired, id, status, task.Error)
		case !slices.Contains(taskSucceeded, status) && !slices.Contains(taskFailed, status):
			s.unreadableTask(answer)
			return nil, nil, fmt.Errorf("poll task %s: %w (status %q)", id, errTaskUnreadable, task.Status)
		}
		out := taskResult(task)
		return out, scriptEnvelope(out), nil
	}
}

func working(status string) bool { return slices.Contains(taskWorking, strings.ToLower(status)) }

// unreadableTask logs, once a process, the field names (never the values)
// of a get_tasks answer the proxy could not read, so that a user can
// report the real shape.
func (s *Service) unreadableTask(answer json.RawMessage) {
	s.taskShapeOnce.Do(func() {
		s.log.Warn("a get_tasks answer has a shape this version cannot read; please report its field names",
			"fields", fieldNames(answer))
	})
}

// fieldNames lists the object keys of the JSON documents an answer
// carries, nested ones as a.b, without any value.
func fieldNames(answer json.RawMessage) string {
	docs, _ := payloads(answer)
	seen := map[string]bool{}
	var names []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, inner := range v {
				name := prefix + k
				if !seen[name] {
					seen[name] = true
					names = append(names, name)
				}
				if len(name) < 64 {
					walk(name+".", inner)
				}
			}
		case []any:
			for _, inner := range v {
				walk(prefix, inner)
			}
		}
	}
	for _, doc := range docs {
		var v any
		if json.Unmarshal(doc, &v) == nil {
			walk("", v)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// taskWait is the recommended wait, bounded, or fallback.
func taskWait(secs float64, fallback time.Duration) time.Duration {
	if secs <= 0 {
		return fallback
	}
	return min(max(time.Duration(secs*float64(time.Second)), minTaskWait), maxTaskWait)
}

// taskOf finds task id in a get_tasks answer: {"tasks": [...],
// "recommended_wait_seconds": ...}, or a task object alone (at the top or
// under "task").
func taskOf(answer json.RawMessage, id string) (taskState, float64, error) {
	docs, err := payloads(answer)
	if err != nil {
		return taskState{}, 0, fmt.Errorf("%w: %w", errTaskUnreadable, err)
	}
	for _, doc := range docs {
		var body struct {
			Tasks    []taskState `json:"tasks"`
			Task     *taskState  `json:"task"`
			WaitSecs float64     `json:"recommended_wait_seconds"`
			taskState
		}
		if json.Unmarshal(doc, &body) != nil {
			continue
		}
		candidates := body.Tasks
		if body.Task != nil {
			candidates = append(candidates, *body.Task)
		}
		candidates = append(candidates, body.taskState)
		for _, t := range candidates {
			if t.TaskID == id {
				if t.WaitSecs == 0 {
					t.WaitSecs = body.WaitSecs
				}
				return t, t.WaitSecs, nil
			}
		}
	}
	return taskState{}, 0, fmt.Errorf("%w: it does not name task %s", errTaskUnreadable, id)
}

// taskResult is a finished task's answer as a tools/call result: the
// script's envelope as text and structured content, as run_script answers
// when it finishes in time.
func taskResult(t taskState) json.RawMessage {
	result := t.Result
	failed := slices.Contains(taskFailed, strings.ToLower(t.Status))
	switch {
	case hasJSON(result):
	case hasJSON(t.ReturnValue) || hasJSON(t.APICalls) || t.Error != "":
		// The envelope on the task object itself.
		envelope := map[string]any{"status": "success", "return_value": t.ReturnValue, "api_calls": t.APICalls}
		if !hasJSON(t.ReturnValue) {
			envelope["return_value"] = nil
		}
		if !hasJSON(t.APICalls) {
			envelope["api_calls"] = []any{}
		}
		if failed {
			envelope["status"], envelope["error"] = "error", t.Error
		}
		result, _ = json.Marshal(envelope)
	default:
		envelope := map[string]any{"status": "success", "return_value": nil, "api_calls": []any{}}
		if failed {
			envelope["status"], envelope["error"] = "error", "the task ended without a result"
		}
		result, _ = json.Marshal(envelope)
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(result, &probe) == nil {
		if _, ok := probe["content"]; ok {
			return result // already a tools/call result
		}
	}
	var env taskState
	_ = json.Unmarshal(result, &env)
	out, _ := json.Marshal(map[string]any{
		"content":           []map[string]string{{"type": "text", "text": string(result)}},
		"structuredContent": result,
		"isError":           env.Status == "error",
	})
	return out
}

// hasJSON reports whether raw holds a JSON value other than null.
func hasJSON(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
