package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// Fakes is a running set of AWS fakes the proxy core is pointed at, in this
// process or in another one.
type Fakes interface {
	// URLs returns where the fakes listen.
	URLs() URLs
	// Accounts returns the member accounts the fakes serve.
	Accounts() []fakeaws.Account
	// SetLatency delays every upstream tools/call answer by d.
	SetLatency(d time.Duration) error
	// Stats returns the fakes' counters, cumulative since start.
	Stats() (FakeStats, error)
	// Close stops the fakes.
	Close() error
}

// URLs are the endpoints of the fakes, and the environment that points the
// built binaries at them.
type URLs struct {
	STS     string   `json:"sts"`
	MCP     string   `json:"mcp"`
	Org     string   `json:"org"`
	Control string   `json:"control,omitempty"`
	Env     []string `json:"env"`
	// CACert is the PEM certificate to trust when the fakes serve TLS.
	CACert string `json:"ca_cert,omitempty"`
}

// FakeStats are the fakes' counters.
type FakeStats struct {
	// AssumeRole counts AssumeRole requests received by the fake STS.
	AssumeRole int `json:"assume_role"`
	// Sessions counts upstream MCP sessions initialized.
	Sessions int `json:"sessions"`
	// ToolCalls counts tools/call requests received.
	ToolCalls int `json:"tool_calls"`
	// MaxInflight is the most tools/call requests served at once.
	MaxInflight int `json:"max_inflight"`
	// OrgCalls counts Organizations API calls.
	OrgCalls int `json:"org_calls"`
}

// FakeOptions sizes the fakes.
type FakeOptions struct {
	// Accounts is the number of numbered member accounts.
	Accounts int
	// Org is the size passed to fakeaws.GenerateOrg (0: no organization).
	Org int
	// TLS serves STS, the upstream and Organizations over TLS (the upstream
	// with HTTP/2) instead of plain HTTP/1.1; only StartProcess supports it.
	TLS bool
	// Payload, when positive, makes every tools/call answer a text of about
	// this many bytes of JSON (a bucket listing naming the account, so no
	// two accounts answer alike) instead of the fake's own small answer, to
	// measure how the proxy handles large answers.
	Payload int
	// TaskAfter, when positive, is how long a script may run before the
	// upstream answers it with a task to poll (a longer script's call is
	// held until it ends otherwise); fakeaws.DefaultTaskAfter when zero.
	// Only StartProcess supports it.
	TaskAfter time.Duration
}

func (o FakeOptions) stackOptions() fakeaws.Options {
	opts := fakeaws.Options{Accounts: fakeaws.NumberedAccounts(o.Accounts)}
	if o.Org > 0 {
		opts.Org = fakeaws.GenerateOrg(o.Org)
	}
	return opts
}

// InProcess runs the fakes in this process: they share its CPUs, heap and
// goroutine count with the code measured.
type InProcess struct {
	Stack *fakeaws.Stack
}

// StartInProcess starts the fakes in this process.
func StartInProcess(o FakeOptions) *InProcess {
	f := &InProcess{Stack: fakeaws.Start(o.stackOptions())}
	if o.Payload > 0 {
		f.Stack.MCP.SetPayload(o.Payload)
	}
	return f
}

// URLs returns the fakes' endpoints.
func (f *InProcess) URLs() URLs {
	s := f.Stack
	return URLs{STS: s.STSURL, MCP: s.MCPURL, Org: s.OrgURL, Env: s.Env()}
}

// Accounts returns the member accounts.
func (f *InProcess) Accounts() []fakeaws.Account { return f.Stack.Accounts }

// SetLatency sets the upstream's default latency.
func (f *InProcess) SetLatency(d time.Duration) error {
	f.Stack.MCP.SetDefaultLatency(d)
	return nil
}

// Stats reads the fakes' counters.
func (f *InProcess) Stats() (FakeStats, error) { return StackStats(f.Stack), nil }

// Close stops the fakes.
func (f *InProcess) Close() error {
	f.Stack.Close()
	return nil
}

// StackStats reads the counters of a fake stack.
func StackStats(s *fakeaws.Stack) FakeStats {
	return FakeStats{
		AssumeRole:  s.STS.AssumeRoleCount(""),
		Sessions:    s.MCP.SessionsOpened(),
		ToolCalls:   s.MCP.CallCount(""),
		MaxInflight: s.MCP.MaxInflight(),
		OrgCalls:    s.Org.TotalCalls(),
	}
}

// controlClient talks to a fakeserver's control endpoint without keeping
// connections (and their goroutines) alive in the measured process.
var controlClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   10 * time.Second,
}

// Process runs the fakes in a child process (bench/fakeserver), controlled
// over HTTP: the measured process then holds only the proxy.
type Process struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	urls     URLs
	accounts []fakeaws.Account
}

// StartProcess runs the fakeserver binary at path with the given sizes and
// waits until it prints its endpoints.
func StartProcess(path string, o FakeOptions) (*Process, error) {
	args := []string{"-accounts", fmt.Sprint(o.Accounts), "-org", fmt.Sprint(o.Org), "-payload", fmt.Sprint(o.Payload), fmt.Sprintf("-tls=%t", o.TLS)}
	if o.TaskAfter > 0 {
		args = append(args, "-task-after", o.TaskAfter.String())
	}
	cmd := exec.Command(path, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start fakeserver: %w", err)
	}
	p := &Process{cmd: cmd, stdin: stdin, accounts: fakeaws.NumberedAccounts(o.Accounts)}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("fakeserver printed no endpoints: %w", err)
	}
	if err := json.Unmarshal([]byte(line), &p.urls); err != nil {
		p.Close()
		return nil, fmt.Errorf("fakeserver endpoints %q: %w", line, err)
	}
	return p, nil
}

// Pid returns the fakeserver's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// URLs returns the fakes' endpoints.
func (p *Process) URLs() URLs { return p.urls }

// Accounts returns the member accounts.
func (p *Process) Accounts() []fakeaws.Account { return p.accounts }

// SetLatency sets the upstream's default latency.
func (p *Process) SetLatency(d time.Duration) error {
	resp, err := controlClient.PostForm(p.urls.Control+"/latency", url.Values{"d": {d.String()}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("fakeserver latency: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Stats reads the fakes' counters.
func (p *Process) Stats() (FakeStats, error) {
	var st FakeStats
	resp, err := controlClient.Get(p.urls.Control + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// Close stops the fakeserver (it exits when its stdin closes).
func (p *Process) Close() error {
	return closeAndWait(p.stdin, p.cmd)
}

// closeAndWait closes a child's stdin and waits for it to exit, killing it
// after 5 s.
func closeAndWait(stdin io.Closer, cmd *exec.Cmd) error {
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		return <-done
	}
}
