package fakeaws

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The fake runs an aws___run_script script without Python: it finds the
// script's `call_boto3(...)` calls in order (keyword or positional
// service_name and operation_name, an optional region_name, and whether
// params ask for WithDecryption), decides each the way IAM would from the
// session policies of the credential that signed the request (see
// Credential.Decide), executes the allowed ones against per-account data
// and stops at the first denied one, as the AccessDenied exception would.
// The script's return_value is the answer of its last call. A script's
// `await asyncio.sleep(N)` calls add up to how long it runs; one that runs
// longer than the fake's task threshold answers with a task to poll through
// aws___get_tasks.

// BotoCall is one call_boto3 call a script made.
type BotoCall struct {
	Account   string
	Region    string
	Service   string
	Operation string
	// Action is the IAM action it needs ("ec2:TerminateInstances").
	Action string
	// Outcome is "executed", "denied" or "unknown_operation".
	Outcome string
}

// Task is a run_script task of the fake.
type fakeTask struct {
	id      string
	account string
	done    time.Time
	expires time.Time
	answer  map[string]any
}

type scriptCall struct {
	service, operation, region string
	decrypt                    bool
}

var (
	callBoto3Pattern = regexp.MustCompile(`call_boto3\s*\(`)
	sleepPattern     = regexp.MustCompile(`asyncio\.sleep\(\s*([0-9.]+)\s*\)`)
	kwPattern        = func(name string) *regexp.Regexp {
		return regexp.MustCompile(name + `\s*=\s*(?:"([^"]*)"|'([^']*)'|None)`)
	}
	serviceKW     = kwPattern("service_name")
	operationKW   = kwPattern("operation_name")
	regionKW      = kwPattern("region_name")
	positionalArg = regexp.MustCompile(`^\s*(?:"([^"]*)"|'([^']*)')\s*,\s*(?:"([^"]*)"|'([^']*)')`)
	decryptArg    = regexp.MustCompile(`["']WithDecryption["']\s*:\s*True`)
)

// parseScript finds the call_boto3 calls of a script and how long its
// sleeps last.
func parseScript(code string) ([]scriptCall, time.Duration, error) {
	var calls []scriptCall
	for _, loc := range callBoto3Pattern.FindAllStringIndex(code, -1) {
		args, ok := balanced(code[loc[1]:])
		if !ok {
			return nil, 0, fmt.Errorf("SyntaxError: '(' was never closed")
		}
		c := scriptCall{decrypt: decryptArg.MatchString(args)}
		if m := serviceKW.FindStringSubmatch(args); m != nil {
			c.service = m[1] + m[2]
		}
		if m := operationKW.FindStringSubmatch(args); m != nil {
			c.operation = m[1] + m[2]
		}
		if m := positionalArg.FindStringSubmatch(args); m != nil && c.service == "" {
			c.service, c.operation = m[1]+m[2], m[3]+m[4]
		}
		if m := regionKW.FindStringSubmatch(args); m != nil {
			c.region = m[1] + m[2]
		}
		if c.service == "" || c.operation == "" {
			return nil, 0, fmt.Errorf("TypeError: call_boto3() missing required arguments: 'service_name' and 'operation_name'")
		}
		calls = append(calls, c)
	}
	var sleep time.Duration
	for _, m := range sleepPattern.FindAllStringSubmatch(code, -1) {
		s, _ := strconv.ParseFloat(m[1], 64)
		sleep += time.Duration(s * float64(time.Second))
	}
	return calls, sleep, nil
}

// balanced returns the text up to the parenthesis closing an open one.
func balanced(s string) (string, bool) {
	depth := 1
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 {
				return s[:i], true
			}
		}
	}
	return "", false
}

// iamAction is the IAM action of an SDK operation.
func iamAction(service, operation string) string {
	if service == "s3" && operation == "ListBuckets" {
		return "s3:ListAllMyBuckets"
	}
	return service + ":" + operation
}

// SecretPrefix starts every secret value the fake hands out, so a test can
// tell that no secret reached an answer.
const SecretPrefix = "FAKESECRET-"

// runScript executes a script for the signing credential and returns its
// answer envelope.
func (m *MCPServer) runScript(cred Credential, region string, calls []scriptCall) map[string]any {
	var apiCalls []map[string]any
	var last any
	for _, c := range calls {
		r := region
		if c.region != "" {
			r = c.region
		}
		action := iamAction(c.service, c.operation)
		rec := BotoCall{Account: cred.Account, Region: r, Service: c.service, Operation: c.operation, Action: action}
		decision := cred.Decide(action, false)
		if decision == Allowed && !m.roleAllows(cred.Account, action) {
			decision = ImplicitDeny
		}
		if decision == Allowed && c.decrypt {
			action = "kms:Decrypt"
			decision = cred.Decide(action, true)
		}
		if decision != Allowed {
			rec.Outcome = "denied"
			m.recordBoto(rec)
			why := "because no session policy allows the " + action + " action"
			if !m.roleAllows(cred.Account, action) {
				why = "because no identity-based policy allows the " + action + " action"
			}
			if decision == ExplicitDeny {
				why = "with an explicit deny in a session policy"
			}
			apiCalls = append(apiCalls, map[string]any{"service": c.service, "operation": c.operation, "status": "error", "n_items": 0})
			return map[string]any{
				"status": "error",
				"error": fmt.Sprintf("An error occurred (AccessDenied) when calling the %s operation: User: %s is not authorized to perform: %s %s",
					c.operation, cred.Principal, action, why),
				"error_type": "ClientError", "return_value": nil, "api_calls": apiCalls,
			}
		}
		out := m.data.boto(cred, r, c)
		rec.Outcome = "executed"
		m.recordBoto(rec)
		apiCalls = append(apiCalls, map[string]any{"service": c.service, "operation": c.operation, "status": "success", "n_items": countItems(out)})
		last = out
	}
	if apiCalls == nil {
		apiCalls = []map[string]any{}
	}
	return map[string]any{"status": "success", "return_value": last, "api_calls": apiCalls}
}

func (m *MCPServer) recordBoto(c BotoCall) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.noRecord {
		m.boto = append(m.boto, c)
	}
}

// countItems is the length of the first list in an answer.
func countItems(v any) int {
	obj, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	for _, x := range obj {
		if l, ok := x.([]any); ok {
			return len(l)
		}
	}
	return 0
}

// boto answers one SDK operation with per-account data.
func (d *dataset) boto(cred Credential, region string, c scriptCall) any {
	account := cred.Account
	asJSON := func(v any) any {
		b, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	switch c.service + ":" + c.operation {
	case "ec2:DescribeInstances":
		var out any
		_ = json.Unmarshal([]byte(DescribeInstances(account, region)), &out)
		return out
	case "ec2:DescribeRegions":
		return asJSON(map[string]any{"Regions": []map[string]any{{"RegionName": "us-east-1"}, {"RegionName": "us-west-2"}, {"RegionName": "eu-west-1"}}})
	case "ec2:TerminateInstances":
		return asJSON(map[string]any{"TerminatingInstances": []map[string]any{{"CurrentState": map[string]any{"Name": "shutting-down"}}}})
	case "ec2:GetPasswordData":
		return asJSON(map[string]any{"InstanceId": "i-0", "PasswordData": SecretPrefix + "password-data-" + account})
	case "s3:ListBuckets":
		out, _ := d.cli(ToolCall{Account: account, Principal: cred.Principal}, region, []string{"aws", "s3api", "list-buckets"})
		return asJSON(out)
	case "sts:GetCallerIdentity":
		return asJSON(map[string]any{"UserId": "AROAFAKEROLE:" + cred.SessionName, "Account": account, "Arn": cred.Principal})
	case "secretsmanager:GetSecretValue":
		return asJSON(map[string]any{"Name": "db-password", "SecretString": SecretPrefix + "secret-" + account})
	case "ssm:GetParameter":
		value := "AQICAHencrypted-blob-" + account
		if c.decrypt {
			value = SecretPrefix + "parameter-" + account
		}
		return asJSON(map[string]any{"Parameter": map[string]any{"Name": "/db/password", "Type": "SecureString", "Value": value}})
	case "ecr:GetAuthorizationToken":
		return asJSON(map[string]any{"authorizationData": []map[string]any{{"authorizationToken": SecretPrefix + "ecr-" + account}}})
	}
	return asJSON(map[string]any{"account": account, "region": region, "operation": c.service + ":" + c.operation, "result": "ok"})
}

// scriptTasks keeps the fake's run_script tasks.
type scriptTasks struct {
	mu    sync.Mutex
	seq   int
	tasks map[string]*fakeTask
	shape TaskShape
}

// TaskShape is how the fake's aws___get_tasks answers a finished task. AWS
// documents the tool's arguments but not its answer, so the proxy reads
// either shape, and says so when it can read neither.
type TaskShape int

// The shapes of a finished task.
const (
	// TaskNested: {"task_id", "status": "completed"|"failed", "result": <the script's envelope>}.
	TaskNested TaskShape = iota
	// TaskFlat: the envelope on the task itself: {"task_id", "status":
	// "success"|"error", "return_value", "api_calls", "error"?}.
	TaskFlat
	// TaskUnknown: a shape nobody guessed: {"id", "state", "output"}.
	TaskUnknown
)

// SetTaskShape sets how get_tasks answers a finished task.
func (m *MCPServer) SetTaskShape(shape TaskShape) {
	m.tasks.mu.Lock()
	defer m.tasks.mu.Unlock()
	m.tasks.shape = shape
}

// DefaultTaskAfter is how long a fake script may run before it answers
// with a task; DefaultTaskWait is the recommended_wait_seconds it gives.
const (
	DefaultTaskAfter = time.Second
	DefaultTaskWait  = 1
)

func (t *scriptTasks) add(account string, runFor time.Duration, answer map[string]any) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tasks == nil {
		t.tasks = map[string]*fakeTask{}
	}
	t.seq++
	id := fmt.Sprintf("task-%s-%06d", account, t.seq)
	now := time.Now()
	t.tasks[id] = &fakeTask{id: id, account: account, done: now.Add(runFor), expires: now.Add(runFor + 5*time.Minute), answer: answer}
	return id
}

// status answers one task id for the signing account: another account's
// task is not found, as an expired one is.
func (t *scriptTasks) status(account, id string) map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	task, ok := t.tasks[id]
	now := time.Now()
	if !ok || task.account != account || now.After(task.expires) {
		return map[string]any{"task_id": id, "status": "not_found", "error": "task not found or expired (tasks expire after 5 minutes)"}
	}
	if now.Before(task.done) {
		return map[string]any{"task_id": id, "status": "working"}
	}
	switch t.shape {
	case TaskFlat:
		out := map[string]any{"task_id": id}
		for k, v := range task.answer {
			out[k] = v
		}
		return out
	case TaskUnknown:
		return map[string]any{"id": id, "state": "done", "output": task.answer}
	}
	status := "completed"
	if task.answer["status"] == "error" {
		status = "failed"
	}
	return map[string]any{"task_id": id, "status": status, "result": task.answer}
}

// scriptTool answers run_script and get_tasks; false for other tools.
func (m *MCPServer) scriptTool(ctx context.Context, cred Credential, c ToolCall) (map[string]any, bool) {
	switch c.Tool {
	case ToolRunScript:
		code, _ := c.Arguments["code"].(string)
		if strings.TrimSpace(code) == "" {
			return toolError("code is required"), true
		}
		calls, runFor, err := parseScript(code)
		if err != nil {
			return scriptResult(map[string]any{"status": "error", "error": err.Error(), "error_type": "ScriptError", "return_value": nil, "api_calls": []any{}}), true
		}
		region := c.Region
		if region == "" {
			region = "us-east-1"
		}
		answer := m.runScript(cred, region, calls)
		m.mu.Lock()
		after, wait := m.taskAfter, m.taskWait
		m.mu.Unlock()
		if runFor > after {
			id := m.tasks.add(cred.Account, runFor, answer)
			return scriptResult(map[string]any{"status": "working", "task_id": id, "recommended_wait_seconds": wait,
				"message": "The script is still running. Poll aws___get_tasks with this task_id."}), true
		}
		if runFor > 0 {
			timer := time.NewTimer(runFor)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		return scriptResult(answer), true
	case ToolGetTasks:
		raw, _ := c.Arguments["task_ids"].([]any)
		if len(raw) == 0 || len(raw) > 3 {
			return toolError(fmt.Sprintf("task_ids must hold 1 to 3 ids, got %d", len(raw))), true
		}
		var out []map[string]any
		for _, v := range raw {
			id, _ := v.(string)
			out = append(out, m.tasks.status(cred.Account, id))
		}
		m.mu.Lock()
		wait := m.taskWait
		m.mu.Unlock()
		return scriptResult(map[string]any{"tasks": out, "recommended_wait_seconds": wait}), true
	}
	return nil, false
}

// scriptResult is a run_script or get_tasks answer: its JSON as text and
// as structured content; an error envelope is a tool error.
func scriptResult(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	return map[string]any{"content": []map[string]any{{"type": "text", "text": string(b)}}, "structuredContent": v, "isError": v["status"] == "error"}
}
