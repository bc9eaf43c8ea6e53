package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeoidc"
	"github.com/centralops/aws-mcp-multi-account/teamserver"
)

// The tests of this file probe the team server as a signed-in stranger
// would: caller B, with a valid token of its own, goes for what caller A
// started. Each runs against a stateful and a --stateless server, and
// reaches the server with and without a session (protocol 2026-07-28
// has none).

// isolation is a team server with two callers: A reaches the 8 accounts
// of team a, B the 4 of team b.
type isolation struct {
	stack          *fakeaws.Stack
	idp            *fakeoidc.Provider
	srv            *teamServer
	stateless      bool
	tokenA, tokenB string
	a, b           map[string]bool // the accounts of each
}

const isolationPolicy = `
rules:
  - match: {groups: team-a}
    tags: {team: a}
  - match: {groups: team-b}
    tags: {team: b}
`

func newIsolation(t *testing.T, stateless bool, args ...string) *isolation {
	t.Helper()
	f := &isolation{stack: newStack(t, 12), idp: startIdP(t), stateless: stateless, a: map[string]bool{}, b: map[string]bool{}}
	teams := []string{"a", "a", "b"}
	for i, acct := range f.stack.Accounts {
		if teams[i%3] == "a" {
			f.a[acct.ID] = true
		} else {
			f.b[acct.ID] = true
		}
	}
	policy := isolationPolicy
	args = append([]string{"--oidc-issuer", f.idp.Issuer, "--oidc-audience", teamAudience}, args...)
	if !strings.Contains(strings.Join(args, " "), "--access-policy") {
		args = append(args, "--access-policy", writePolicy(t, policy))
	}
	if stateless {
		args = append(args, "--stateless")
	}
	f.srv = startTeamServer(t, f.stack, []string{teamAccounts(t, f.stack, teams...), "AWS_MCP_ACCOUNT_RPS=0", "AWS_MCP_REPLY_WITHIN=0"}, args...)
	f.tokenA = f.idp.Token(teamAudience, fakeoidc.Claims{"sub": "caller-a", "groups": []string{"team-a"}})
	f.tokenB = f.idp.Token(teamAudience, fakeoidc.Claims{"sub": "caller-b", "groups": []string{"team-b"}})
	return f
}

// clients are the ways a caller reaches the server: a session (in
// --stateless, initialize answers no session id) and protocol 2026-07-28.
func (f *isolation) clients(t *testing.T, token string) map[string]*rawMCP {
	t.Helper()
	plain := "a session"
	if f.stateless {
		plain = "no session"
	}
	return map[string]*rawMCP{plain: f.srv.rawSession(t, token), "2026-07-28": f.srv.rawSessionless(token)}
}

// sessionless are the clients whose requests carry no session.
func (f *isolation) sessionless(t *testing.T, token string) map[string]*rawMCP {
	all := f.clients(t, token)
	if !f.stateless {
		delete(all, "a session")
	}
	return all
}

// calledIn reports whether an upstream call reached one of accounts.
func (f *isolation) calledIn(accounts map[string]bool) bool {
	for _, c := range f.stack.MCP.Calls() {
		if accounts[c.Account] {
			return true
		}
	}
	return false
}

// checkOwn fails unless out answers exactly accounts, all successfully.
func checkOwn(t *testing.T, who string, out queryAllOutput, accounts map[string]bool) {
	t.Helper()
	if out.Summary.Succeeded != len(accounts) || len(out.Results) != len(accounts) {
		t.Errorf("%s: %d results, %d succeeded; want all %d of its accounts", who, len(out.Results), out.Summary.Succeeded, len(accounts))
	}
	for _, r := range out.Results {
		if !accounts[r.AccountID] {
			t.Errorf("%s: an answer of %s, outside its scope", who, r.AccountID)
		}
	}
}

func eachMode(t *testing.T, test func(t *testing.T, stateless bool)) {
	t.Run("stateful", func(t *testing.T) { test(t, false) })
	t.Run("stateless", func(t *testing.T) { test(t, true) })
}

var whoAmI = map[string]any{"tool_name": "aws___call_aws", "arguments": callerIdentity}

// TestTeamServerTasksBelongToTheirCaller: B cannot see, read, wait for
// or cancel A's tasks — its tasks/get, tasks/result and tasks/cancel get
// exactly the error of a task that does not exist, and its tasks/list
// lists none of them — whether either of them has a session or not; A's
// tasks run to their end with all of A's accounts.
func TestTeamServerTasksBelongToTheirCaller(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		f := newIsolation(t, stateless)
		release := f.stack.MCP.Hold()
		defer release()
		as, bs := f.clients(t, f.tokenA), f.clients(t, f.tokenB)
		tasks := map[string]string{}
		for name, a := range as {
			tasks[name] = a.startTask(t, whoAmI)
		}
		waitUntil(t, func() bool { return f.calledIn(f.a) })
		const unknown = "6f1c3c1e-0000-4000-8000-000000000000"
		for bName, b := range bs {
			b.timeout = 10 * time.Second // a leak would make tasks/result wait for A's task
			for aName, id := range tasks {
				for _, method := range []string{"tasks/get", "tasks/result", "tasks/cancel"} {
					got := b.call(t, method, map[string]any{"taskId": id})
					want := b.call(t, method, map[string]any{"taskId": unknown})
					if got.Error == nil || want.Error == nil || got.Error.Message != want.Error.Message || got.HTTPStatus != want.HTTPStatus {
						t.Errorf("B (%s), %s of A's task (%s): %s; of a task that does not exist: %s", bName, method, aName, got, want)
					}
				}
			}
			list := b.call(t, "tasks/list", nil)
			for aName, id := range tasks {
				if strings.Contains(string(list.Result), id) {
					t.Errorf("B (%s) lists A's task (%s): %s", bName, aName, list)
				}
			}
		}
		for name, a := range as {
			if got := a.call(t, "tasks/get", map[string]any{"taskId": tasks[name]}); got.Error != nil {
				t.Errorf("A (%s) cannot read its own task: %s", name, got)
			}
		}
		release()
		for name, a := range as {
			if out, ok := a.awaitTask(t, tasks[name]); ok {
				checkOwn(t, "A's task ("+name+")", out, f.a)
			}
		}
	})
}

// TestTeamServerCancellationsBelongToTheirCaller: B cancelling every
// request id from 0 to 49 cancels only its own requests; A's sessionless
// query_all, in flight meanwhile, answers for all of A's accounts.
func TestTeamServerCancellationsBelongToTheirCaller(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		f := newIsolation(t, stateless)
		release := f.stack.MCP.Hold()
		defer release()
		type answer struct {
			who   string
			reply rpcReply
		}
		answers := make(chan answer, 8)
		var wg sync.WaitGroup
		for name, a := range f.sessionless(t, f.tokenA) {
			wg.Go(func() {
				answers <- answer{"A (" + name + ")", a.callID(t, 7, "tools/call", map[string]any{"name": "query_all", "arguments": whoAmI})}
			})
		}
		waitUntil(t, func() bool { return f.calledIn(f.a) })
		b := f.srv.rawSessionless(f.tokenB)
		bDone := make(chan rpcReply, 1)
		go func() {
			bDone <- b.callID(t, 3, "tools/call", map[string]any{"name": "query_all", "arguments": whoAmI})
		}()
		waitUntil(t, func() bool { return f.calledIn(f.b) })
		for _, b := range f.clients(t, f.tokenB) {
			for id := range 50 {
				b.notify(t, "notifications/cancelled", map[string]any{"requestId": id, "reason": "not mine"})
			}
		}
		// B's own request (id 3) was cancelled: its upstream calls end.
		waitUntil(t, func() bool { return f.stack.MCP.Aborted() > 0 })
		release()
		wg.Wait()
		close(answers)
		for got := range answers {
			checkOwn(t, got.who, fanout(t, got.reply), f.a)
		}
		// A cancelled request gets no answer (MCP: the receiver does not
		// respond to it), and never a full one.
		if reply := <-bDone; reply.Error == nil && len(reply.Result) > 0 && fanout(t, reply).Summary.Succeeded == len(f.b) {
			t.Errorf("B's own cancelled request answered in full: %s", reply)
		}
		if n := f.stack.MCP.Aborted(); n > len(f.b) {
			t.Errorf("%d upstream calls aborted, more than B's own %d", n, len(f.b))
		}
	})
}

// TestTeamServerStreamsBelongToTheirCaller: with A's session id, B's GET
// and DELETE are refused like its POST (404), and A's session lives on;
// B's own stream carries the status of B's task and never of A's. A
// --stateless server has no sessions: GET and DELETE get 405.
func TestTeamServerStreamsBelongToTheirCaller(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		f := newIsolation(t, stateless)
		a, b := f.srv.rawSession(t, f.tokenA), f.srv.rawSession(t, f.tokenB)
		if stateless {
			for _, c := range []*rawMCP{a, b, a.as(f.tokenB, "mcp-session-0123")} {
				if status, _ := c.listen(t); status != http.StatusMethodNotAllowed {
					t.Errorf("GET of a --stateless server: HTTP %d, want 405", status)
				}
				if status := c.delete(t); status != http.StatusMethodNotAllowed {
					t.Errorf("DELETE of a --stateless server: HTTP %d, want 405", status)
				}
			}
			return
		}
		intruder := a.as(f.tokenB, a.session)
		if reply := intruder.call(t, "tools/list", nil); reply.HTTPStatus != http.StatusNotFound {
			t.Errorf("B's POST with A's session id: %s, want 404", reply)
		}
		if status, _ := intruder.listen(t); status != http.StatusNotFound {
			t.Errorf("B's GET with A's session id: HTTP %d, want 404 as for POST", status)
		}
		if status := intruder.delete(t); status != http.StatusNotFound {
			t.Errorf("B's DELETE with A's session id: HTTP %d, want 404 as for POST", status)
		}
		if reply := a.call(t, "tools/list", nil); reply.Error != nil || reply.HTTPStatus != http.StatusOK {
			t.Errorf("A's session after B's DELETE: %s", reply)
		}
		if status, _ := a.listen(t); status != http.StatusOK {
			t.Errorf("A's GET of its own session: HTTP %d", status)
		}

		status, events := b.listen(t)
		if status != http.StatusOK {
			t.Fatalf("B's GET of its own session: HTTP %d", status)
		}
		release := f.stack.MCP.Hold()
		taskA := a.startTask(t, whoAmI)
		waitUntil(t, func() bool { return f.calledIn(f.a) })
		release()
		checkOwn(t, "A's task", fanout(t, a.call(t, "tasks/result", map[string]any{"taskId": taskA})), f.a)
		// A's task has ended and its status was sent. B's task ends after
		// it, while B has no request open: its status reaches B's stream,
		// behind A's if A's were sent to B.
		release = f.stack.MCP.Hold()
		taskB := b.startTask(t, whoAmI)
		waitUntil(t, func() bool { return f.calledIn(f.b) })
		release()
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("B's stream ended")
				}
				if strings.Contains(string(ev), taskB) && strings.Contains(string(ev), "notifications/tasks/status") {
					break wait
				}
			case <-deadline:
				t.Fatalf("the status of B's own task did not reach B's stream; B saw %v", b.notifications())
			}
		}
		for _, n := range b.notifications() {
			if strings.Contains(n, taskA) {
				t.Errorf("B received a notification of A's task: %s", n)
			}
		}
	})
}

// TestTeamServerBoundsKeyRefetches: 200 tokens under made-up key ids
// (iss and aud are public) make at most a few fetches of the issuer's
// keys, and a good token passes after them.
func TestTeamServerBoundsKeyRefetches(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		f := newIsolation(t, stateless)
		before, start := f.idp.JWKSFetches(), time.Now()
		for i := range 200 {
			token := f.idp.TokenWithKeyID(teamAudience, fmt.Sprintf("kid-%d", i), fakeoidc.Claims{"sub": "stranger"})
			if resp := f.srv.post(t, token, initializeBody); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("a token of an unknown key: HTTP %d", resp.StatusCode)
			}
		}
		// The burst, then one more per KeyRefetchEvery for as long as the
		// 200 took (a loaded machine takes longer), and one of slack.
		limit := teamserver.KeyRefetchBurst + int(time.Since(start)/teamserver.KeyRefetchEvery) + 1
		if n := f.idp.JWKSFetches() - before; n > limit {
			t.Errorf("200 tokens of unknown keys made %d JWKS fetches in %s, want at most %d", n, time.Since(start).Round(time.Millisecond), limit)
		}
		if resp := f.srv.post(t, f.tokenA, initializeBody); resp.StatusCode != http.StatusOK {
			t.Errorf("a good token after them: HTTP %d", resp.StatusCode)
		}
	})
}

// TestTeamServerUnverifiedEmailIsNotTheCaller: a token whose email the
// IdP marks unverified matches no email rule, names no one in CloudTrail,
// and is no source identity; two callers with the same verified email
// never share credentials.
func TestTeamServerUnverifiedEmailIsNotTheCaller(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		stack := newStack(t, 3)
		idp := startIdP(t)
		victimAcct := stack.Accounts[0].ID
		policy := writePolicy(t, isolationPolicy+fmt.Sprintf("  - match: {email: victim@example.com}\n    accounts: [%q]\n", victimAcct))
		args := []string{"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", policy, "--session-name", "mcp-{caller}"}
		if stateless {
			args = append(args, "--stateless")
		}
		srv := startTeamServer(t, stack, []string{teamAccounts(t, stack, "x", "b", "b")}, args...)
		victim := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "victim", "email": "victim@example.com", "email_verified": true}))
		namesake := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "namesake", "email": "victim@example.com"}))
		mallory := srv.connect(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "mallory", "email": "victim@example.com", "email_verified": false, "groups": []string{"team-b"}}))

		if res := callTool(t, mallory, "query", map[string]any{"account_id": victimAcct, "tool_name": "aws___call_aws", "arguments": callerIdentity}); !res.IsError {
			t.Errorf("an unverified email reached the account of that email's rule: %.300s", text(res))
		}
		callTool(t, mallory, "query", map[string]any{"account_id": stack.Accounts[1].ID, "tool_name": "aws___call_aws", "arguments": callerIdentity})
		for _, c := range stack.STS.Calls() {
			if c.Account == stack.Accounts[1].ID && c.RoleSessionName != "mcp-mallory" {
				t.Errorf("the unverified caller's AssumeRole session is named %q, want mcp-mallory (its subject)", c.RoleSessionName)
			}
		}

		for _, c := range []*client.Client{victim, namesake} {
			if res := callTool(t, c, "query", map[string]any{"account_id": victimAcct, "tool_name": "aws___call_aws", "arguments": callerIdentity}); res.IsError {
				t.Errorf("a verified email's own account: %.300s", text(res))
			}
		}
		keys := map[string]bool{}
		for _, c := range stack.MCP.Calls() {
			if c.Account == victimAcct {
				keys[c.AccessKeyID] = true
			}
		}
		assumed := 0
		for _, c := range stack.STS.Calls() {
			if c.Account == victimAcct && c.RoleSessionName == "mcp-victim@example.com" {
				assumed++
			}
		}
		if len(keys) != 2 || assumed != 2 {
			t.Errorf("two callers with one email: %d AssumeRoles, calls signed with %d access keys; want 2 and 2 (credentials are per caller)", assumed, len(keys))
		}

		withSource := startTeamServer(t, stack, []string{teamAccounts(t, stack, "x", "b", "b")}, append(args, "--source-identity", "email")...)
		if resp := withSource.post(t, idp.Token(teamAudience, fakeoidc.Claims{"sub": "mallory", "email": "victim@example.com", "email_verified": "false"}), initializeBody); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("--source-identity email and an unverified email: HTTP %d, want 401 (no usable email)", resp.StatusCode)
		}
	})
}

// TestTeamServerSlowBodies: a stranger's slow body is answered 401 at
// once (the token is checked first) and does not hold up the drain; a
// signed-in caller's body slower than --body-timeout gets 408.
func TestTeamServerSlowBodies(t *testing.T) {
	eachMode(t, func(t *testing.T, stateless bool) {
		f := newIsolation(t, stateless, "--body-timeout", "1s", "--drain", "60s")
		slow := func(token string) (*bufio.Reader, net.Conn) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			auth := ""
			if token != "" {
				auth = "Authorization: Bearer " + token + "\r\n"
			}
			fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n%sContent-Length: 200\r\n\r\n{", auth)
			conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			return bufio.NewReader(conn), conn
		}
		status := func(r *bufio.Reader) string {
			line, err := r.ReadString('\n')
			if err != nil {
				return "no answer: " + err.Error()
			}
			return strings.TrimSpace(line)
		}
		stranger, _ := slow("")
		if got := status(stranger); !strings.Contains(got, " 401 ") {
			t.Errorf("a slow body without a token: %q, want 401 at once", got)
		}
		caller, _ := slow(f.tokenA)
		if got := status(caller); !strings.Contains(got, " 408 ") {
			t.Errorf("a signed-in caller's body slower than --body-timeout: %q, want 408", got)
		}
		slow("") // open, unanswered by the client, as the drain begins
		f.srv.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-f.srv.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("a stranger's slow body held the drain (--drain 60s) for 30 s\n%s", f.srv.stderr.String())
		}
	})
}

// TestTeamServerManyCallersKeepTheirOwn: 50 callers at once, some with
// tasks, some sessionless, each cancelling request ids of the others'
// ranges, get exactly their own accounts' answers.
func TestTeamServerManyCallersKeepTheirOwn(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		stack := newStack(t, 50)
		stack.MCP.SetDefaultLatency(20 * time.Millisecond)
		idp := startIdP(t)
		teams := []string{"a", "b", "c", "d", "e"}
		args := []string{"--oidc-issuer", idp.Issuer, "--oidc-audience", teamAudience, "--access-policy", groupPolicy(t, teams)}
		if stateless {
			args = append(args, "--stateless")
		}
		srv := startTeamServer(t, stack, []string{teamAccounts(t, stack, teams...), "AWS_MCP_CONCURRENCY=32", "AWS_MCP_ACCOUNT_RPS=0", "AWS_MCP_REPLY_WITHIN=0"}, args...)
		want := accountsByTeam(stack, teams)
		var wg sync.WaitGroup
		for i := range 50 {
			team := teams[i%len(teams)]
			token := idp.Token(teamAudience, fakeoidc.Claims{"sub": fmt.Sprintf("user-%d", i), "groups": []string{"team-" + team}})
			var c *rawMCP
			if i%2 == 0 {
				c = srv.rawSession(t, token)
			} else {
				c = srv.rawSessionless(token)
			}
			wg.Go(func() {
				who := fmt.Sprintf("caller %d (team %s)", i, team)
				own := 100 + i // every caller's ids are its own; it cancels the others'
				switch i % 3 {
				case 0:
					if out, ok := c.awaitTask(t, c.startTask(t, whoAmI)); ok {
						checkOwn(t, who+", a task", out, want[team])
					}
				default:
					done := make(chan rpcReply, 1)
					go func() {
						done <- c.callID(t, own, "tools/call", map[string]any{"name": "query_all", "arguments": whoAmI})
					}()
					for other := 100; other < 150; other++ {
						if other != own {
							c.notify(t, "notifications/cancelled", map[string]any{"requestId": other})
						}
					}
					checkOwn(t, who, fanout(t, <-done), want[team])
				}
			})
		}
		wg.Wait()
	})
}

// TestTeamServerCancelsEveryRequestOfItsCallerWithTheId: two requests of
// one caller in flight with the same id (sessionless, where ids need not
// be unique) are both cancelled by that caller's notifications/cancelled;
// mcp-go alone would keep, and cancel, only the later one.
func TestTeamServerCancelsEveryRequestOfItsCallerWithTheId(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, stateless bool) {
		f := newIsolation(t, stateless)
		release := f.stack.MCP.Hold()
		defer release()
		a := f.srv.rawSessionless(f.tokenA)
		done := make(chan rpcReply, 2)
		for range 2 {
			go func() { done <- a.callID(t, 7, "tools/call", map[string]any{"name": "query_all", "arguments": whoAmI}) }()
		}
		waitUntil(t, func() bool { return f.stack.MCP.Inflight() == 2*len(f.a) })
		if code := a.notify(t, "notifications/cancelled", map[string]any{"requestId": 7}); code != http.StatusAccepted {
			t.Errorf("notifications/cancelled answered HTTP %d, want 202", code)
		}
		waitUntil(t, func() bool { return f.stack.MCP.Aborted() == 2*len(f.a) })
		release()
		<-done
		<-done
	})
}
