package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCLIChangeAsksForTheNumberOfAccounts runs `call --change` in a real
// terminal (tmux): it prints the plan and asks for the number of accounts;
// a wrong number runs nothing, the right one rolls the change out.
func TestCLIChangeAsksForTheNumberOfAccounts(t *testing.T) {
	t.Parallel()
	stack := newTodayStack(t, 5)
	var commands strings.Builder
	for range 2 {
		fmt.Fprintf(&commands, "%s call --all --change --allow-changes aws___run_script %s\necho EXIT=$?\n", binaryPath, strconv.Quote("code="+tagScript))
	}
	tm := runInTmux(t, "change", 200, 50, append(stack.Env(), accountsEnv(stack), "AWS_MCP_ACCOUNT_RPS=0"), commands.String())
	// screenShows polls the screen until it shows want (count times).
	screenShows := func(want string, count int) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			screen, err := tm("capture-pane", "-p", "-J", "-S", "-200", "-t", "change")
			if err != nil {
				t.Fatalf("capture-pane: %v %s", err, screen)
			}
			if strings.Count(screen, want) >= count {
				return screen
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q %d times:\n%s", want, count, screen)
			}
			time.Sleep(50 * time.Millisecond) // polling the screen, not synchronising
		}
	}

	screen := screenShows("Type the number of accounts (5)", 1)
	if !strings.Contains(screen, "Run aws___run_script in 5 accounts") {
		t.Errorf("no plan before the question:\n%s", screen)
	}
	if _, err := tm("send-keys", "-t", "change", "yes", "Enter"); err != nil {
		t.Fatal(err)
	}
	screen = screenShows("EXIT=", 1)
	if !strings.Contains(screen, "not confirmed: nothing ran") || stack.MCP.Executed("CreateTags") != 0 {
		t.Fatalf("a wrong answer: %d writes, screen:\n%s", stack.MCP.Executed("CreateTags"), screen)
	}

	screenShows("Type the number of accounts (5)", 2)
	if _, err := tm("send-keys", "-t", "change", "5", "Enter"); err != nil {
		t.Fatal(err)
	}
	screen = screenShows("EXIT=", 2)
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "canary 200000000001") || !strings.Contains(screen, "5 of 5 succeeded") {
		t.Errorf("the confirmed change:\n%s", screen)
	}
	if got := stack.MCP.Executed("CreateTags"); got != 5 {
		t.Errorf("%d writes, want 5", got)
	}
}
