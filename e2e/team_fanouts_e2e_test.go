package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
)

// TestTeamServerCallerFanoutsWait: a caller's fan-outs beyond
// --caller-fanouts wait for a slot instead of failing (first come, first
// served, the wait shown as progress), within each call's own reply
// deadline; a wait the deadline would pass is refused naming the bound;
// a cancelled wait leaves the queue; another caller is not held back.
// In stateful and --stateless modes.
func TestTeamServerCallerFanoutsWait(t *testing.T) {
	t.Parallel()
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			t.Parallel()
			const accounts = 30
			stack := newStack(t, accounts)
			stack.MCP.SetDefaultLatency(1500 * time.Millisecond)
			idp := startIdP(t)
			args := []string{"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--caller-fanouts", "2"}
			if stateless {
				args = append(args, "--stateless")
			}
			srv := startTeamServer(t, stack, []string{accountsEnv(stack)}, args...)
			aliceToken := idp.Token(teamAudience, fakeoidc.Claims{"sub": "alice"})
			slow := map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}

			// Four at once, as Claude Code runs a turn's tool calls: all
			// answer every account; two of them said they waited.
			var wg sync.WaitGroup
			waited := make(chan string, 4)
			for i := range 4 {
				wg.Go(func() {
					alice := srv.connect(t, aliceToken)
					res, err := callWatched(context.Background(), alice, fmt.Sprintf("p-%d", i), slow, waited)
					if err != nil {
						t.Errorf("fan-out %d: %v", i, err)
						return
					}
					var out queryAllOutput
					raw, _ := json.Marshal(res.StructuredContent)
					json.Unmarshal(raw, &out)
					if res.IsError || out.Summary.Succeeded != accounts {
						t.Errorf("fan-out %d: %d of %d answered: %.300s", i, out.Summary.Succeeded, accounts, text(res))
					}
				})
			}
			wg.Wait()
			close(waited)
			var notes []string
			for n := range waited {
				notes = append(notes, n)
			}
			if len(notes) != 2 || !strings.Contains(notes[0], "waiting for one of your 2 running fan-outs") {
				t.Errorf("the two queued fan-outs said %q", notes)
			}

			// Two running for long: a fan-out whose reply is due in a
			// second is refused, naming the bound; one cancelled while it
			// waits leaves the queue; bob is not held back.
			stack.MCP.SetDefaultLatency(4 * time.Second)
			for range 2 {
				wg.Go(func() { callTool(t, srv.connect(t, aliceToken), "query_all", slow) })
			}
			waitUntil(t, func() bool { return stack.MCP.Inflight() == 2*accounts })
			alice := srv.connect(t, aliceToken)
			hurried := map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity, "reply_within_s": 1}
			if res := callTool(t, alice, "query_all", hurried); !res.IsError || !strings.Contains(text(res), "--caller-fanouts") {
				t.Errorf("a fan-out whose wait passed its reply deadline: %s", text(res))
			}
			ctx, cancel := context.WithCancel(context.Background())
			queued := make(chan string, 1)
			go func() {
				<-queued
				cancel()
			}()
			if _, err := callWatched(ctx, alice, "cancelled", slow, queued); err == nil {
				t.Error("a cancelled wait answered")
			}
			stack.MCP.SetDefaultLatency(0)
			bob := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "bob"}))
			if res := callTool(t, bob, "query_all", slow); res.IsError {
				t.Errorf("bob was held back by alice's fan-outs: %s", text(res))
			}
			// The cancelled call holds no place: two more of alice's run
			// as soon as the two running ones end.
			for range 2 {
				wg.Go(func() {
					if res := callTool(t, srv.connect(t, aliceToken), "query_all", slow); res.IsError {
						t.Errorf("a fan-out after the cancelled one: %s", text(res))
					}
				})
			}
			wg.Wait()
			if strings.Contains(srv.stderr.String(), "panic") {
				t.Errorf("the server panicked:\n%s", srv.stderr.String())
			}
		})
	}
}

// callWatched calls query_all with a progress token and sends the first
// progress message that says the call waits to waited.
func callWatched(ctx context.Context, c *client.Client, token string, args map[string]any, waited chan<- string) (*mcp.CallToolResult, error) {
	var once sync.Once
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationProgress) || fmt.Sprint(n.Params.AdditionalFields["progressToken"]) != token {
			return
		}
		if msg, _ := n.Params.AdditionalFields["message"].(string); strings.HasPrefix(msg, "waiting") {
			once.Do(func() { waited <- msg })
		}
	})
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "query_all", args
	req.Params.Meta = &mcp.Meta{ProgressToken: mcp.ProgressToken(token)}
	return c.CallTool(ctx, req)
}
