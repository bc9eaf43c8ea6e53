package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProgressBarInTerminal runs `call --all` in a real terminal (tmux) with
// slow accounts and watches the progress bar on stderr advance, while
// stdout, redirected to a file, carries no ANSI codes.
func TestProgressBarInTerminal(t *testing.T) {
	stack := newStack(t, 8)
	for i, a := range stack.Accounts {
		stack.MCP.SetLatency(a.ID, time.Duration(i+1)*400*time.Millisecond)
	}
	outFile := filepath.Join(t.TempDir(), "stdout.txt")
	tm := runInTmux(t, "bar", 160, 20, append(stack.Env(), accountsEnv(stack)),
		fmt.Sprintf("%s call --all aws___call_aws cli_command='aws s3api list-buckets' > %s\necho EXIT=$?\n", binaryPath, outFile))

	counts := regexp.MustCompile(`\((\d+)/8\)`)
	seen := map[int]bool{}
	var last string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		screen, err := tm("capture-pane", "-p", "-t", "bar")
		if err != nil {
			t.Fatalf("capture-pane: %v %s", err, screen)
		}
		last = screen
		for _, m := range counts.FindAllStringSubmatch(screen, -1) {
			n, _ := strconv.Atoi(m[1])
			seen[n] = true
		}
		if strings.Contains(screen, "EXIT=") {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling the screen, not synchronising
	}
	if !strings.Contains(last, "EXIT=0") {
		t.Fatalf("call did not finish with exit 0; screen:\n%s", last)
	}
	intermediate := 0
	for n := range seen {
		if n > 0 && n < 8 {
			intermediate++
		}
	}
	if intermediate < 3 {
		t.Errorf("the progress bar showed %d intermediate states (%v), want at least 3", intermediate, seen)
	}
	out, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "\x1b[") {
		t.Errorf("stdout (not a terminal) carries ANSI codes: %q", out)
	}
	if !strings.Contains(string(out), "8 of 8 succeeded") {
		t.Errorf("stdout: %s", out)
	}
}

// runInTmux runs commands in a shell with env exported, in a detached tmux
// session (its own server) of width × height, and returns a function that
// runs tmux commands against that server; the server ends with the test.
// The test is skipped where tmux is not installed.
func runInTmux(t *testing.T, session string, width, height int, env []string, commands string) func(args ...string) (string, error) {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (apt-get install -y tmux); .ci/run installs it")
	}
	var script strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&script, "export %s=%s\n", k, strconv.Quote(v))
	}
	script.WriteString(commands + "sleep 60\n")
	path := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(path, []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	socket := fmt.Sprintf("amma-%s-%d", session, os.Getpid())
	tm := func(args ...string) (string, error) {
		cmd := exec.Command(tmux, append([]string{"-L", socket}, args...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := tm("new-session", "-d", "-s", session, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), "sh "+path); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })
	return tm
}
