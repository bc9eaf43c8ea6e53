// Command claudecode looks at our answers through a real client's eyes: it
// runs Claude Code headless (claude -p) against `demo --serve` and a
// stand-in for the model's API on loopback, which asks for a scripted list
// of tool calls and records, byte for byte, the tool_result each one hands
// the model. It reports per call what the model received: characters,
// inline or saved to a file, resource-link lines, every account named,
// the result_id. Not part of `go test ./...`: bench/claudecode.sh installs
// Claude Code from npm and runs it.
//
//	go run ./bench/cmd/claudecode -claude PATH [-json FILE]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// step is one tool call the stand-in model makes; args may name
// "{result_id}" or "{change_id}", taken from the previous answers.
type step struct {
	Label string         `json:"label"`
	Tool  string         `json:"tool"`
	Args  map[string]any `json:"args"`
}

const (
	listBuckets       = "resp = await call_boto3(service_name='s3', operation_name='ListBuckets')\nresp"
	describeInstances = "resp = await call_boto3(service_name='ec2', operation_name='DescribeInstances')\nresp"
	tagBuckets        = "resp = await call_boto3(service_name='ec2', operation_name='CreateTags', params={'Resources': ['i-0'], 'Tags': [{'Key': 'owner', 'Value': 'ops'}]})\nresp"
)

func scenario(progressRuns int) []step {
	steps := []step{
		{"query_all ListBuckets, 25 accounts", "query_all", map[string]any{"tool_name": "aws___run_script", "arguments": map[string]any{"code": listBuckets}}},
		{"query_all DescribeInstances, 25 accounts × 3 regions", "query_all", map[string]any{"tool_name": "aws___run_script",
			"arguments": map[string]any{"code": describeInstances}, "regions": []string{"us-east-1", "eu-west-1", "ap-southeast-2"}}},
		{"get_result of one account", "get_result", map[string]any{"result_id": "{result_id}", "account_id": "410151234567", "region": "us-east-1"}},
		{"query_all, max_bytes 96 KiB", "query_all", map[string]any{"tool_name": "aws___run_script",
			"arguments": map[string]any{"code": describeInstances}, "regions": []string{"us-east-1", "eu-west-1", "ap-southeast-2"}, "max_bytes": 96 << 10}},
		{"change_all (headless: the question is dismissed)", "change_all", map[string]any{"tool_name": "aws___run_script",
			"arguments": map[string]any{"code": tagBuckets}, "accounts": []string{"prod-*"}}},
	}
	for i := range progressRuns {
		steps = append(steps, step{fmt.Sprintf("query_all ListBuckets #%d (progress)", i+1), "query_all",
			map[string]any{"tool_name": "aws___run_script", "arguments": map[string]any{"code": listBuckets}}})
	}
	return steps
}

// writeAccounts writes an accounts file of n accounts in 8 OUs, tagged
// env (4 values), team (5) and a unique email.
func writeAccounts(dir string, n int) (string, error) {
	envs, teams := []string{"prod", "dev", "staging", "sandbox"}, []string{"web", "data", "payments", "ml", "platform"}
	accts := make([]map[string]any, n)
	for i := range accts {
		accts[i] = map[string]any{"id": fmt.Sprintf("%d", 700000000001+i), "name": fmt.Sprintf("%s-%s-%05d", envs[i%4], teams[i%5], i+1),
			"ou_path": fmt.Sprintf("Root/Workloads/OU%d", i%8), "tags": map[string]string{"env": envs[i%4], "team": teams[i%5], "email": fmt.Sprintf("aws+%d@example.com", i+1)}}
	}
	raw, err := json.Marshal(accts)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "accounts.json")
	return path, os.WriteFile(path, raw, 0o600)
}

// observed is what the model received for one step.
type observed struct {
	Label       string `json:"label"`
	Tool        string `json:"tool"`
	Chars       int    `json:"chars"`
	SavedToFile bool   `json:"saved_to_file"`
	LinkLines   int    `json:"link_lines"`
	IsJSON      bool   `json:"is_json"`
	Accounts    int    `json:"accounts_named"`
	ResultID    bool   `json:"result_id"`
	Twice       bool   `json:"an_answer_twice"`
	Content     string `json:"content"`
}

func main() {
	if dir := os.Getenv(recordEnv); dir != "" {
		os.Exit(record(dir, os.Args[1:]))
	}
	claude := flag.String("claude", "claude", "path of the Claude Code executable")
	jsonOut := flag.String("json", "", "also write the observations as JSON to this file")
	runs := flag.Int("progress-runs", 10, "query_all runs for the progress-token check")
	keep := flag.Bool("keep", false, "keep the work directory (debug logs, config)")
	listN := flag.Int("list-accounts", 0, "instead of the demo: serve an accounts file of this many accounts (tags env, team, email; 8 OUs) and call list_accounts")
	server := flag.String("server", "", "run this executable as the MCP server instead of building the program (e.g. a wrapper that records stdio)")
	flag.Parse()
	log.SetFlags(0)

	work, err := os.MkdirTemp("", "claudecode-")
	if err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	bin := *server
	if bin == "" {
		bin = filepath.Join(work, "aws-mcp-multi-account")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			log.Fatalf("build: %v\n%s", err, out)
		}
	}
	steps := scenario(*runs)
	serverArgs, serverEnv := []string{bin, "demo", "--serve", "--allow-changes"}, map[string]string{"AWS_MCP_LOG_LEVEL": "warn", recordEnv: work}
	if *listN > 0 {
		file, err := writeAccounts(work, *listN)
		if err != nil {
			log.Fatal(err)
		}
		serverArgs, serverEnv["AWS_MCP_ACCOUNTS_FILE"], serverEnv["AWS_REGION"] = []string{bin}, file, "us-east-1"
		steps = []step{
			{fmt.Sprintf("list_accounts, %d accounts", *listN), "list_accounts", map[string]any{}},
			{"list_accounts, tags env=prod team=payments", "list_accounts", map[string]any{"tags": map[string]string{"env": "prod", "team": "payments"}}},
		}
	}
	model := &standIn{steps: steps}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: model}
	go srv.Serve(ln)
	defer srv.Close()

	// The server runs behind this program in recording mode, which keeps
	// both directions of stdio to count progress that trails its result.
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cfg := map[string]any{"mcpServers": map[string]any{"aws": map[string]any{
		"command": self, "args": serverArgs, "env": serverEnv,
	}}}
	cfgPath := filepath.Join(work, "mcp.json")
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		log.Fatal(err)
	}
	home := filepath.Join(work, "home")
	_ = os.MkdirAll(home, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, *claude, "-p", prompt, "--mcp-config", cfgPath, "--strict-mcp-config",
		"--allowedTools", "mcp__aws", "--output-format", "json", "--debug", "--max-turns", "100")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "HOME="+home, "ANTHROPIC_BASE_URL=http://"+ln.Addr().String(), "ANTHROPIC_API_KEY=sk-ant-test",
		"DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_ERROR_REPORTING=1",
		"ENABLE_TOOL_SEARCH=false", "MCP_TIMEOUT=60000", "MCP_TOOL_TIMEOUT=120000", "CI=true")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		log.Printf("claude: %v\nstdout: %.2000s\nstderr: %.4000s", err, stdout, stderr.String())
	}
	debug := stderr.String() + readDebugLogs(home)
	// The TypeScript SDK's words (Protocol._onprogress), which Claude Code
	// logs as a connection error; this harness counted other words before.
	unknownProgress := strings.Count(debug, "progress notification for an unknown token")
	progress, trailing := trailingProgress(work)

	obs := model.observations()
	against := "demo --serve (25 accounts)"
	if *listN > 0 {
		against = fmt.Sprintf("the stdio server over an accounts file of %d accounts", *listN)
	}
	fmt.Printf("Claude Code %s, headless, against %s; the stand-in model recorded each tool_result.\n\n", version(*claude), against)
	fmt.Printf("| call | chars the model got | inline | link lines | JSON | accounts named | result_id | an answer twice |\n|---|---:|---|---:|---|---:|---|---|\n")
	for _, o := range obs {
		fmt.Printf("| %s | %d | %s | %d | %s | %d | %s | %s |\n", o.Label, o.Chars, yes(!o.SavedToFile), o.LinkLines, yes(o.IsJSON), o.Accounts, yes(o.ResultID), yes(o.Twice))
	}
	fmt.Printf("\n%d of %d scripted calls reached the model; \"unknown progress token\" in Claude Code's logs: %d; progress notifications sent: %d, after their request's result: %d\n",
		len(obs), len(steps), unknownProgress, progress, trailing)
	for _, o := range obs {
		if o.Tool == "change_all" {
			fmt.Printf("\nchange_all, as the model read it (first 600 characters):\n%.600s\n", o.Content)
		}
	}
	if *jsonOut != "" {
		raw, _ := json.MarshalIndent(map[string]any{"observations": obs, "unknown_progress_token": unknownProgress,
			"progress_notifications": progress, "progress_after_result": trailing}, "", "  ")
		if err := os.WriteFile(*jsonOut, raw, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if len(obs) != len(steps) {
		os.Exit(1)
	}
}

// recordEnv makes this program a recording stdio pipe to the server.
const recordEnv = "CLAUDECODE_HARNESS_RECORD"

// record runs the server (args) with its stdin and stdout copied to
// files in dir, in the order they pass.
func record(dir string, args []string) int {
	in, err1 := os.OpenFile(filepath.Join(dir, "stdin.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	out, err2 := os.OpenFile(filepath.Join(dir, "stdout.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err1 != nil || err2 != nil {
		log.Print(err1, err2)
		return 1
	}
	defer in.Close()
	defer out.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = io.TeeReader(os.Stdin, in)
	cmd.Stdout = io.MultiWriter(os.Stdout, out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 1
	}
	return 0
}

// trailingProgress counts the progress notifications the server wrote,
// and those written after the result of their request.
func trailingProgress(dir string) (total, trailing int) {
	tokens := map[string]string{} // progress token → request id
	in, _ := os.ReadFile(filepath.Join(dir, "stdin.jsonl"))
	for _, line := range strings.Split(string(in), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Params struct {
				Meta struct {
					ProgressToken json.RawMessage `json:"progressToken"`
				} `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && len(m.Params.Meta.ProgressToken) > 0 {
			tokens[string(m.Params.Meta.ProgressToken)] = string(m.ID)
		}
	}
	answered := map[string]bool{}
	out, _ := os.ReadFile(filepath.Join(dir, "stdout.jsonl"))
	for _, line := range strings.Split(string(out), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProgressToken json.RawMessage `json:"progressToken"`
			} `json:"params"`
		}
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch {
		case m.Method == "notifications/progress":
			total++
			if answered[tokens[string(m.Params.ProgressToken)]] {
				trailing++
			}
		case m.Method == "" && len(m.ID) > 0:
			answered[string(m.ID)] = true
		}
	}
	return total, trailing
}

// prompt starts the session; the stand-in knows the main conversation by it.
const prompt = "Run the scripted checks."

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func version(claude string) string {
	out, _ := exec.Command(claude, "--version").Output()
	return strings.TrimSpace(string(out))
}

// readDebugLogs reads Claude Code's debug log and its MCP server logs
// (where an unknown progress token is reported).
func readDebugLogs(home string) string {
	var b strings.Builder
	for _, dir := range []string{filepath.Join(home, ".claude"), filepath.Join(home, ".cache", "claude-cli-nodejs")} {
		_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (strings.Contains(path, "debug") || strings.Contains(path, "mcp-logs")) {
				raw, _ := os.ReadFile(path)
				b.Write(raw)
			}
			return nil
		})
	}
	return b.String()
}

// standIn answers the Messages API as a model would that makes the
// scripted tool calls one after the other.
type standIn struct {
	steps []step

	mu   sync.Mutex
	obs  []observed
	seen map[string]bool
	vars map[string]string
}

var (
	resultIDPattern = regexp.MustCompile(`r-[a-z2-7]{20}`)
	changeIDPattern = regexp.MustCompile(`chg-[0-9a-f]{32}`)
	accountPattern  = regexp.MustCompile(`\b4[0-9]{11}\b`)
)

func (m *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1/messages") {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if strings.HasSuffix(r.URL.Path, "/count_tokens") {
		writeJSON(w, map[string]any{"input_tokens": len(body) / 4})
		return
	}
	var req struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	_ = json.Unmarshal(body, &req)
	// The main conversation is the one that offers our tools (tool
	// search is off, so they are not deferred); other requests (titles,
	// summaries) get a plain text.
	main := false
	for _, t := range req.Tools {
		if strings.HasPrefix(t.Name, "mcp__aws__") {
			main = true
		}
	}
	if !main || !strings.Contains(string(body), prompt) {
		m.reply(w, req.Stream, nil, "ok")
		return
	}
	// The conversation so far: record every tool_result once.
	done := 0
	for _, msg := range req.Messages {
		var blocks []struct {
			Type      string          `json:"type"`
			ToolUseID string          `json:"tool_use_id"`
			Content   json.RawMessage `json:"content"`
		}
		if msg.Role != "user" || json.Unmarshal(msg.Content, &blocks) != nil {
			continue
		}
		for _, b := range blocks {
			if b.Type == "tool_result" {
				done++
				m.record(b.ToolUseID, b.Content)
			}
		}
	}
	if done >= len(m.steps) {
		m.reply(w, req.Stream, nil, "done")
		return
	}
	s := m.steps[done]
	m.reply(w, req.Stream, &s, "")
}

// record keeps what the model received for the tool call id.
func (m *standIn) record(id string, content json.RawMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen, m.vars = map[string]bool{}, map[string]string{}
	}
	if m.seen[id] {
		return
	}
	m.seen[id] = true
	var text string
	if json.Unmarshal(content, &text) != nil {
		var blocks []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		_ = json.Unmarshal(content, &blocks)
		var parts []string
		for _, b := range blocks {
			parts = append(parts, b.Text)
		}
		text = strings.Join(parts, "\n")
	}
	i := len(m.obs)
	s := m.steps[min(i, len(m.steps)-1)]
	o := observed{Label: s.Label, Tool: s.Tool, Chars: len([]rune(text)), Content: text}
	o.SavedToFile = strings.Contains(text, "tool-results") || strings.Contains(text, "exceeds maximum allowed") || strings.Contains(text, "saved to")
	body := text
	for strings.HasPrefix(body, "[Resource link:") {
		o.LinkLines++
		if j := strings.Index(body, "\n"); j >= 0 {
			body = body[j+1:]
		} else {
			body = ""
		}
	}
	var v any
	o.IsJSON = json.Unmarshal([]byte(strings.TrimSpace(body)), &v) == nil
	named := map[string]bool{}
	for _, a := range accountPattern.FindAllString(text, -1) {
		named[a] = true
	}
	o.Accounts = len(named)
	o.ResultID = resultIDPattern.MatchString(text)
	o.Twice = strings.Contains(text, `\"return_value\"`) || strings.Count(text, `"api_calls"`) > 0
	if id := resultIDPattern.FindString(text); id != "" && s.Tool == "query_all" {
		m.vars["result_id"] = id
	}
	if id := changeIDPattern.FindString(text); id != "" {
		m.vars["change_id"] = id
	}
	m.obs = append(m.obs, o)
}

func (m *standIn) observations() []observed {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]observed(nil), m.obs...)
}

// reply answers with a tool call (s) or a text, streamed when asked.
func (m *standIn) reply(w http.ResponseWriter, stream bool, s *step, text string) {
	var block map[string]any
	stop := "end_turn"
	var input []byte
	if s != nil {
		m.mu.Lock()
		raw, _ := json.Marshal(s.Args)
		for k, v := range m.vars {
			raw = []byte(strings.ReplaceAll(string(raw), "{"+k+"}", v))
		}
		m.mu.Unlock()
		input = raw
		block = map[string]any{"type": "tool_use", "id": fmt.Sprintf("toolu_%d", time.Now().UnixNano()), "name": "mcp__aws__" + s.Tool, "input": map[string]any{}}
		stop = "tool_use"
	} else {
		block = map[string]any{"type": "text", "text": ""}
	}
	msg := map[string]any{"id": fmt.Sprintf("msg_%d", time.Now().UnixNano()), "type": "message", "role": "assistant",
		"model": "claude-stand-in", "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 10, "output_tokens": 1}}
	if !stream {
		if s != nil {
			var in map[string]any
			_ = json.Unmarshal(input, &in)
			block["input"] = in
		} else {
			block["text"] = text
		}
		msg["content"], msg["stop_reason"] = []any{block}, stop
		writeJSON(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	bw := bufio.NewWriter(w)
	event := func(name string, v any) {
		raw, _ := json.Marshal(v)
		fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", name, raw)
	}
	event("message_start", map[string]any{"type": "message_start", "message": msg})
	event("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": block})
	if s != nil {
		event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(input)}})
	} else {
		event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": text}})
	}
	event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 5}})
	event("message_stop", map[string]any{"type": "message_stop"})
	_ = bw.Flush()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
