package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// QueryAllRequest is one tool call fanned out over many accounts (and
// regions).
type QueryAllRequest struct {
	ToolName  string
	Arguments json.RawMessage
	// Region targets one region; Regions targets several (accounts × regions).
	Region  string
	Regions []string
	// Selector narrows the accounts; zero selects all.
	Selector accounts.Selector
	// JMESPath projects every account's answer (the AWS CLI's --query
	// semantics); the store keeps the unprojected answers.
	JMESPath string
	// ReplyWithin answers with the accounts finished by then; the others
	// are pending and go on in the background until they finish, their
	// answers landing in the stored result. 0 waits for every account.
	ReplyWithin time.Duration
	// ReplyBudget, when positive, says the caller renders the answer
	// within that many bytes: the fan-out then holds in memory only the
	// answers such a reply could show (projected, as values), and the
	// result store holds the rest, read back if the reply shows one. 0
	// holds every answer whole (the CLI prints them all).
	ReplyBudget int
	// Waiting, when set, is told why the call has not started (it waits
	// for one of its caller's running fan-outs to finish).
	Waiting func(message string)
}

// Summary counts the outcome of a fan-out.
type Summary = results.Summary

// Progress is told how many of total calls have finished.
type Progress func(done, total int)

// target is one (account, region) pair of a fan-out.
type target struct {
	acct   accounts.Account
	region string
}

// plan is a validated fan-out, ready to run.
type plan struct {
	req      QueryAllRequest
	proj     *results.Projection
	selected []accounts.Account
	targets  []target
	regions  int
	readOnly bool
	warnings []string
	// advice names a better way to ask (the delegated administrator).
	advice []string
	// readOnlySession runs every target under the read-only fan-out
	// session, whatever the caller's access (a change's preview).
	readOnlySession bool
}

// QueryAll calls a tool in every selected account (and region) in parallel:
// every target at once, or at most Concurrency at a time when one is set
// (more, up to MaxConcurrency, when the accounts would not all answer
// before the deadline), each bounded by the
// per-account timeout. One account's failure never fails the whole call:
// it is a Result with StatusError. An invalid request, an empty selection
// or a refused tool is an error, returned before any upstream call. If ctx
// ends, calls in flight are abandoned and the rest are reported as
// cancelled, so every target still has its Result. The full answers are
// kept in the result store; the answer returned is projected.
func (s *Service) QueryAll(ctx context.Context, req QueryAllRequest, progress Progress) (*results.Answer, error) {
	begun := time.Now()
	p, err := s.planQueryAll(ctx, req)
	if err != nil {
		return nil, err
	}
	// A fan-out beyond the caller's bound waits within its own reply
	// deadline; what it waited is taken from that deadline.
	var due time.Time
	if req.ReplyWithin > 0 {
		due = begun.Add(req.ReplyWithin)
	}
	release, err := s.claimFanout(ctx, due, req.Waiting)
	if err != nil {
		return nil, err
	}
	if !due.IsZero() {
		p.req.ReplyWithin = max(time.Until(due), time.Millisecond)
	}
	r := s.start(ctx, p, progress, release)
	r.wait(ctx)
	return r.answer(), nil
}

// claimFanout counts a fan-out against its caller's CallerFanouts,
// waiting (first come, first served) for one of the caller's running
// fan-outs to finish until due (zero: as long as ctx lives); waiting is
// told once why the call waits. The returned release ends the fan-out.
// Calls without a caller (stdio, the Lambda bridge) are not bounded.
func (s *Service) claimFanout(ctx context.Context, due time.Time, waiting func(string)) (func(), error) {
	c := CallerFrom(ctx)
	if c == nil {
		return func() {}, nil
	}
	return s.fanouts.acquire(ctx, c.ID, due, func(running int) {
		if waiting != nil {
			waiting(fmt.Sprintf("waiting for one of your %d running fan-outs to finish (at most %d at once)", running, running))
		}
	})
}

// planQueryAll validates a fan-out and resolves its targets.
func (s *Service) planQueryAll(ctx context.Context, req QueryAllRequest) (*plan, error) {
	if err := validateToolName(req.ToolName); err != nil {
		return nil, err
	}
	proj, err := results.Compile(req.JMESPath)
	if err != nil {
		return nil, err
	}
	regions, err := requestRegions(req.Region, req.Regions)
	if err != nil {
		return nil, err
	}
	sel, err := s.selectAccounts(ctx, req.Selector)
	if err != nil {
		return nil, err
	}
	readOnly, err := s.guardFanout(ctx, sel.selected, req)
	if err != nil {
		return nil, err
	}
	p := &plan{req: req, proj: proj, selected: sel.selected, readOnly: readOnly, warnings: sel.warnings,
		advice: delegatedAdvice(req.ToolName, req.Arguments, sel.reachable, len(sel.selected))}
	p.targets, p.regions = s.targetsFor(sel.selected, regions)
	return p, nil
}

// guardFanout refuses, before any call, a fan-out of a tool that is not
// read-only where the write guard or read-only mode forbids it, and one of
// a secret-bearing read unless that is allowed. A tool bounded by IAM
// (aws___run_script, aws___call_aws) is not refused for what it might do:
// it runs in each account under the fan-out session, whose session
// policies let IAM deny writes and secret reads there; for
// aws___call_aws, the CLI command is also checked here, as a first line.
// It returns whether the call is read-only by its own nature.
func (s *Service) guardFanout(ctx context.Context, selected []accounts.Account, req QueryAllRequest) (bool, error) {
	guarded := false
	var readOnlyAcct *accounts.Account
	for i, a := range selected {
		acc, _ := s.access(ctx, a)
		if acc.ReadOnly && readOnlyAcct == nil {
			readOnlyAcct = &selected[i]
		}
		guarded = guarded || acc.ReadOnly || !acc.AllowWriteFanout
	}
	return s.guardTool(ctx, selected, req.ToolName, req.Arguments, guarded, func() string {
		switch {
		case readOnlyAcct != nil:
			return s.modeFor(ctx, *readOnlyAcct).readOnlyWhy
		case CallerFrom(ctx) != nil:
			return "query_all fans out only read-only tools unless the access policy allows write fan-out in every selected account; use query for one account"
		}
		return "query_all fans out only read-only tools; set " + s.cfg.setting("allow-write-fanout") + " to lift this guard, or use query for one account"
	})
}

// guardTool applies the guards of a fan-out to one tool call: the secret
// guard, and, when guarded, the refusal (saying why) of a tool that is
// not read-only and not bounded by IAM. The cheap checks of an AWS CLI
// command come first: no network call. It returns whether the call is
// read-only by its own nature.
func (s *Service) guardTool(ctx context.Context, selected []accounts.Account, tool string, args json.RawMessage, guarded bool, why func() string) (bool, error) {
	cheapRefusal := guarded && tool == CallAWSTool && !guard.ReadOnlyArguments(args)
	readOnly := false
	if !cheapRefusal {
		if err := s.guardSecrets(tool, args); err != nil {
			return false, err
		}
		var err error
		if readOnly, err = s.classify(ctx, selected, tool, args, guarded, true); err != nil {
			return false, err
		}
	}
	if guarded && !readOnly && tool != RunScriptTool {
		return false, fmt.Errorf("%w: %s", ErrWriteRefused, writeRefusal(tool, args, why()))
	}
	return readOnly, nil
}

// run is one fan-out in progress.
type run struct {
	s     *Service
	p     *plan
	owner string
	id    string
	// stored keeps the run's answers for get_result.
	stored resultWriter
	start  time.Time
	fan    *fanout

	mu      sync.Mutex
	entries []results.Entry
	// hold bounds what entries hold of the answers (nil: all, whole).
	hold *holding

	done    chan struct{}
	replied atomic.Bool
	// cancel ends the calls; unlink detaches them from the caller's
	// context once the answer is given.
	cancel context.CancelFunc
	unlink func() bool
}

// start begins a fan-out. Without ReplyWithin its calls live in ctx; with
// it, they are detached from ctx once the answer is given, and end when
// they finish, time out, or the service closes.
func (s *Service) start(ctx context.Context, p *plan, progress Progress, release func()) *run {
	r := &run{s: s, p: p, owner: ownerOf(ctx), start: time.Now(), done: make(chan struct{}),
		entries: make([]results.Entry, len(p.targets))}
	for i, t := range p.targets {
		r.entries[i] = results.Entry{AccountID: t.acct.ID, Name: t.acct.Name, Region: t.region, Status: StatusPending}
	}
	r.stored = s.newResult(r.owner, r.snapshot(), "tool", p.req.ToolName)
	r.id = r.stored.id
	if p.req.ReplyBudget > 0 && r.id != "" {
		r.hold = &holding{limit: holdFor(p.req.ReplyBudget)}
	}

	runCtx := ctx
	deadline, _ := ctx.Deadline()
	if p.req.ReplyWithin > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		stopLife := context.AfterFunc(s.life, cancel)
		r.cancel = func() { stopLife(); cancel() }
		r.unlink = context.AfterFunc(ctx, cancel)
		deadline = r.start.Add(r.replyWithin(ctx))
	}
	gated := func(done, total int) {
		if progress != nil && !r.replied.Load() {
			progress(done, total)
		}
	}
	width, ceiling := s.cfg.Concurrency, s.cfg.MaxConcurrency
	if width <= 0 {
		width, ceiling = len(p.targets), len(p.targets) // automatic: every target at once
	}
	r.fan = newFanout(runCtx, len(p.targets), width, ceiling, deadline,
		func(ctx context.Context, i int) { r.record(i, s.runTarget(ctx, p, i)) }, gated)
	s.bg.Go(func() {
		defer release()
		r.fan.wait()
		if r.cancel != nil {
			r.cancel()
		}
		if r.id != "" {
			r.stored.finish(r.snapshot().Summary)
		}
		close(r.done)
	})
	return r
}

// replyWithin is how long the caller waits for its answer: ReplyWithin,
// shortened to leave a second before the caller's own deadline.
func (r *run) replyWithin(ctx context.Context) time.Duration {
	within := r.p.req.ReplyWithin
	if d, ok := ctx.Deadline(); ok {
		within = min(within, time.Until(d)-time.Second)
	}
	return max(within, 0)
}

// wait blocks until every account has answered or, with ReplyWithin, until
// the reply is due. If ctx ends first, the calls are cancelled and their
// entries say so.
func (r *run) wait(ctx context.Context) {
	defer r.replied.Store(true)
	if r.p.req.ReplyWithin <= 0 {
		<-r.done
		return
	}
	timer := time.NewTimer(r.replyWithin(ctx))
	defer timer.Stop()
	select {
	case <-r.done:
		r.unlink()
	case <-timer.C:
		if r.unlink() {
			r.s.log.Info("answering before every account finished; the rest go on in the background",
				"result_id", r.id, "pending", r.pending(), "tool", r.p.req.ToolName)
		}
	case <-ctx.Done():
		<-r.done
	}
}

// record keeps target i's final result in the store and in the answer:
// its answer text decoded once (here, on the worker), so re-projections
// with get_result decode only that, and a plain answer kept as that text
// alone. With a hold, the answer keeps the entry brief (projected, as its
// value) and, once the reply is given, only its outcome.
func (r *run) record(i int, res results.Entry) {
	res = res.Kept()
	kept := r.stored.put(i, res)
	replied := r.replied.Load()
	switch {
	case r.hold == nil:
	case replied:
		res = res.Brief(nil).Release() // the reply is given: only the outcome
	case kept:
		res = res.Brief(r.p.proj)
	default:
		res = res.Brief(r.p.proj).Unkept()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries[i] = res
	if r.hold != nil && !replied {
		r.hold.add(r.entries, i)
	}
}

// loadTimeout bounds reading one answer back from the result store (S3)
// for a reply; the reply leaves out one it cannot read.
const loadTimeout = 10 * time.Second

// load reads back the answer of target i from the store, projected as the
// brief entries of the answer are (Answer.Load).
func (r *run) load(i int) json.RawMessage {
	ctx, cancel := context.WithTimeout(r.s.life, loadTimeout)
	defer cancel()
	e, err := r.s.store.Entry(ctx, r.owner, r.id, i)
	if err != nil {
		r.s.log.Debug("cannot read an answer back for the reply", "result_id", r.id, "index", i, "error", err)
		return nil
	}
	return e.Brief(r.p.proj).Value()
}

func (r *run) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.entries {
		if e.Status == StatusPending {
			n++
		}
	}
	return n
}

// snapshot is the answer as it stands, unprojected.
func (r *run) snapshot() *results.Answer {
	r.mu.Lock()
	entries := append([]results.Entry(nil), r.entries...)
	r.mu.Unlock()
	elapsed := time.Since(r.start).Milliseconds()
	for i := range entries {
		if entries[i].Status == StatusPending {
			entries[i].DurationMS = elapsed
		}
	}
	out := &results.Answer{ToolName: r.p.req.ToolName, JMESPath: r.p.proj.String(), Results: entries, Warnings: r.p.warnings, Advice: r.p.advice}
	if w := r.deniedNote(entries); w != "" {
		out.Warnings = append(append([]string(nil), out.Warnings...), w)
	}
	out.Count()
	concurrency := len(r.p.targets)
	if r.s.cfg.Concurrency > 0 {
		concurrency = min(r.s.cfg.Concurrency, concurrency)
	}
	if r.fan != nil {
		concurrency = r.fan.peak()
	}
	out.Summary.Accounts, out.Summary.Regions = len(r.p.selected), r.p.regions
	out.Summary.Concurrency, out.Summary.DurationMS, out.Summary.ResultID = concurrency, elapsed, r.id
	return out
}

// deniedNote says once why an IAM-bounded fan-out met AccessDenied: its
// session policies refuse writes and secret reads.
func (r *run) deniedNote(entries []results.Entry) string {
	if !iamBounded(r.p.req.ToolName) {
		return ""
	}
	for _, e := range entries {
		if e.ErrorCode != CodeAccessDenied || strings.HasPrefix(e.Error, "assume role") {
			continue
		}
		if r.s.cfg.AllowWriteFanout && !r.s.cfg.ReadOnly {
			return "query_all runs scripts without secret reads (a session policy denies them): AccessDenied above is IAM refusing such a read, or the role's own policies refusing the call."
		}
		return "query_all runs scripts in a read-only fan-out session (the managed read-only policy, and a deny of secret reads): " +
			"AccessDenied above is IAM refusing a write or a secret read. Use query for a change in one account" + changeHint(r.s.cfg) + "."
	}
	return ""
}

// answer is the answer as it stands, projected: a tool's failure keeps its
// text in error, not its data.
func (r *run) answer() *results.Answer {
	out := r.snapshot()
	for i := range out.Results {
		if out.Results[i].ErrorCode == CodeToolError {
			out.Results[i].Data = nil
		}
	}
	if r.hold != nil {
		out.Load = r.load // entries are brief, projected already
	} else {
		r.p.proj.Entries(out.Results)
	}
	out.Count()
	return out
}

// runTarget calls the tool in target i, or says why it was not called.
func (s *Service) runTarget(ctx context.Context, p *plan, i int) (res results.Entry) {
	t := p.targets[i]
	failed := func(code, msg string) results.Entry {
		return results.Entry{AccountID: t.acct.ID, Name: t.acct.Name, Region: t.region, Status: StatusError, ErrorCode: code, Error: msg}
	}
	defer func() {
		// One account's panic must not take the server down with it.
		if v := recover(); v != nil {
			s.log.Error("panic in fan-out worker", "account", t.acct.ID, "panic", fmt.Sprint(v))
			res = failed(CodeUpstream, fmt.Sprintf("internal error: %v", v))
		}
	}()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return failed(CodeTimeout, "timed out before the account was queried (the caller's deadline passed)")
	case ctx.Err() != nil:
		return failed(CodeCancelled, "cancelled before the account was queried")
	}
	kind := callFanout
	if p.readOnlySession {
		kind = callPreview
	}
	return s.call(ctx, t.acct, t.region, callSpec{tool: p.req.ToolName, args: p.req.Arguments, readOnly: p.readOnly, kind: kind})
}

// requestRegions validates a call's region arguments; nil means each
// account's defaults.
func requestRegions(region string, regions []string) ([]string, error) {
	if region != "" && len(regions) > 0 {
		return nil, errors.New("give either region or regions, not both")
	}
	if region != "" {
		regions = []string{region}
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range regions {
		if !accounts.ValidRegion(r) {
			return nil, fmt.Errorf("region %q is not a valid AWS region name (like us-east-1)", r)
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}
