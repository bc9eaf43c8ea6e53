package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
	"github.com/centralops/aws-mcp-multi-account/proxy/plans"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/rollout"
)

// ChangeRequest is a change over the selected accounts (and regions).
type ChangeRequest struct {
	ToolName  string
	Arguments json.RawMessage
	// Region and Regions target regions as in QueryAllRequest.
	Region   string
	Regions  []string
	Selector accounts.Selector
	Rollout  rollout.Options
	// Preview is run first in every target under the read-only fan-out
	// session; its answers go into the plan.
	Preview *Preview
}

// Preview is a read-only tool call (or script) that shows what a change
// would touch.
type Preview struct {
	ToolName  string          `json:"tool_name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	JMESPath  string          `json:"jmespath,omitempty"`
}

// ChangeTarget is one account and region of a change, in rollout order.
type ChangeTarget struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Region    string `json:"region"`
	Canary    bool   `json:"canary,omitempty"`
}

// Change is the plan of a change: what runs where, and how. It is applied
// exactly as planned, once, by the caller who made it, before it expires.
type Change struct {
	ID        string          `json:"change_id"`
	ExpiresAt time.Time       `json:"expires_at"`
	ToolName  string          `json:"tool_name"`
	Arguments json.RawMessage `json:"arguments"`
	// ArgumentsSHA256 names the exact call in audit lines.
	ArgumentsSHA256 string `json:"arguments_sha256"`
	// Targets lists the targets in rollout order (the first Listed of
	// TargetCount when the budget cannot hold them all).
	Targets     []ChangeTarget  `json:"targets"`
	TargetCount int             `json:"target_count"`
	Listed      int             `json:"listed,omitempty"`
	Accounts    int             `json:"accounts"`
	Regions     []string        `json:"regions"`
	Rollout     rollout.Options `json:"rollout"`
	Bounds      rollout.Bounds  `json:"bounds"`
	// Excluded counts selected accounts the caller may not change: they
	// are not in the plan.
	Excluded int             `json:"excluded,omitempty"`
	Preview  *results.Answer `json:"preview,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`

	owner   string
	targets []target // in rollout order
	stages  [][]int
}

// changeStore keeps the plans between change_all and apply_change.
type changeStore = plans.Store[*Change]

type changeKey struct{}

// withChange marks the calls of a change's rollout, for their audit lines.
func withChange(ctx context.Context, c *Change) context.Context {
	return context.WithValue(ctx, changeKey{}, c)
}

func changeFrom(ctx context.Context) *Change {
	c, _ := ctx.Value(changeKey{}).(*Change)
	return c
}

// Changes returns the store of planned changes (tests move its clock).
func (s *Service) Changes() *plans.Store[*Change] { return s.changes }

// changePolicy is the session policy of a change in an account: the
// role's own permissions, less the reads whose answer is a secret unless
// secret fan-outs are allowed.
func (s *Service) changePolicy(acc Access) SessionPolicy {
	if acc.ReadOnly {
		return SessionPolicy{ReadOnly: true}
	}
	if s.cfg.AllowSecretFanout {
		return SessionPolicy{}
	}
	return SessionPolicy{Inline: guard.AllButSecretsPolicy()}
}

// CanChange reports whether the context's caller may change any account:
// whether change_all and apply_change are offered to it.
func (s *Service) CanChange(ctx context.Context) bool {
	if !s.cfg.changesAllowed() {
		return false
	}
	if CallerFrom(ctx) == nil {
		return true
	}
	all, _, err := s.listAccounts(ctx)
	if err != nil {
		return false
	}
	for _, a := range all {
		if acc, ok := s.access(ctx, a); ok && acc.AllowChanges {
			return true
		}
	}
	return false
}

// PlanChange validates a change, resolves its targets in rollout order,
// runs its preview, and keeps the plan for the caller under a new
// change_id. Nothing is changed.
func (s *Service) PlanChange(ctx context.Context, req ChangeRequest) (*Change, error) {
	if !s.cfg.changesAllowed() {
		return nil, fmt.Errorf("%w: changes are not enabled on this server (%s; never in read-only mode, %s)", ErrChangesRefused, s.cfg.setting("allow-changes"), s.cfg.setting("read-only"))
	}
	if err := validateToolName(req.ToolName); err != nil {
		return nil, err
	}
	if err := req.Rollout.Validate(); err != nil {
		return nil, err
	}
	regions, err := requestRegions(req.Region, req.Regions)
	if err != nil {
		return nil, err
	}
	changeable, excluded, warnings, err := s.changeable(ctx, req.Selector)
	if err != nil {
		return nil, err
	}
	// The tool must exist upstream; what it does is the point of a change.
	if _, err := s.classify(ctx, changeable, req.ToolName, req.Arguments, false, false); err != nil {
		return nil, err
	}
	c := &Change{ToolName: req.ToolName, Arguments: compactJSON(req.Arguments), Rollout: req.Rollout,
		Accounts: len(changeable), Excluded: len(excluded), Warnings: warnings, owner: ownerOf(ctx)}
	c.ArgumentsSHA256 = argumentsHash(req.ToolName, c.Arguments)
	if len(excluded) > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s selected may not be changed by this caller and are not in the plan: %s",
			results.Plural(len(excluded), "account"), listSome(excluded, 20)))
	}
	flat, _ := s.targetsFor(changeable, regions)
	c.order(flat, s.cfg.MaxConcurrency)
	if req.Preview != nil {
		if c.Preview, err = s.preview(ctx, c, changeable, *req.Preview); err != nil {
			return nil, err
		}
	}
	c.ID, c.ExpiresAt = s.changes.Put(c.owner, c)
	s.log.Info("change planned", append(s.changeAttrs(ctx, c), "targets", c.TargetCount, "expires", c.ExpiresAt)...)
	return c, nil
}

// changeable returns the selected accounts the caller may change, and the
// ids of those it may not.
func (s *Service) changeable(ctx context.Context, sel accounts.Selector) (changeable []accounts.Account, excluded, warnings []string, err error) {
	picked, err := s.selectAccounts(ctx, sel)
	if err != nil {
		return nil, nil, nil, err
	}
	selected, warnings := picked.selected, picked.warnings
	for _, a := range selected {
		if acc, _ := s.access(ctx, a); acc.AllowChanges {
			changeable = append(changeable, a)
		} else {
			excluded = append(excluded, a.ID)
		}
	}
	if len(changeable) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: none of the %s selected may be changed by this caller (changes need an allow_changes rule of the access policy, and access that is not read-only)",
			ErrChangesRefused, results.Plural(len(selected), "account"))
	}
	return changeable, excluded, warnings, nil
}

// order puts the targets in rollout order, applies the rollout to their
// number (at most ceiling at once) and splits them into its stages.
func (c *Change) order(flat []target, ceiling int) {
	order := c.Rollout.Order(len(flat), func(i int) string { return flat[i].region })
	c.targets = make([]target, len(order))
	seen := map[string]bool{}
	for i, j := range order {
		c.targets[i] = flat[j]
		if r := flat[j].region; !seen[r] {
			seen[r] = true
			c.Regions = append(c.Regions, r)
		}
	}
	c.TargetCount = len(c.targets)
	c.Bounds = c.Rollout.For(len(c.targets), ceiling)
	inOrder := make([]int, len(c.targets))
	for i := range inOrder {
		inOrder[i] = i
	}
	c.stages = c.Rollout.Stages(inOrder, c.Bounds.Canary, func(i int) string { return c.targets[i].region })
	for i, t := range c.targets {
		c.Targets = append(c.Targets, ChangeTarget{AccountID: t.acct.ID, Name: t.acct.Name, Region: t.region, Canary: i < c.Bounds.Canary})
	}
}

// listSome joins at most n items, saying how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// preview runs the change's preview in every target under the read-only
// fan-out session, as query_all would with read-only access.
func (s *Service) preview(ctx context.Context, c *Change, selected []accounts.Account, pv Preview) (*results.Answer, error) {
	if err := validateToolName(pv.ToolName); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	proj, err := results.Compile(pv.JMESPath)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	readOnly, err := s.guardTool(ctx, selected, pv.ToolName, pv.Arguments, true, func() string {
		return "a preview runs only read-only tools, or a script under the read-only fan-out session"
	})
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	p := &plan{req: QueryAllRequest{ToolName: pv.ToolName, Arguments: pv.Arguments, JMESPath: pv.JMESPath},
		proj: proj, selected: selected, targets: c.targets, regions: len(c.Regions), readOnly: readOnly, readOnlySession: true}
	release, err := s.claimFanout(ctx, time.Time{}, nil)
	if err != nil {
		return nil, err
	}
	r := s.start(ctx, p, nil, release)
	r.wait(ctx)
	return r.answer(), nil
}

// ApplyChange runs the caller's plan once: the canary first and alone,
// then waves bounded by its max_concurrency, no new target once more than
// max_errors have failed. Cancelling ctx starts no new target; the ones
// in flight finish. Every target's answer is kept in the result store.
func (s *Service) ApplyChange(ctx context.Context, id string, progress Progress) (*Change, *results.Answer, error) {
	return s.ApplyChangeWatched(ctx, id, progress, nil)
}

// TargetDone is told of each target of a change as it ends (its entry,
// and whether it was a canary).
type TargetDone func(e results.Entry, canary bool)

// ApplyChangeWatched is ApplyChange telling watch of every target as it
// ends (the CLI shows the canary's answer at once).
func (s *Service) ApplyChangeWatched(ctx context.Context, id string, progress Progress, watch TargetDone) (*Change, *results.Answer, error) {
	c, release, err := s.takePlan(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	out, err := s.runPlanned(ctx, c, progress, watch)
	return c, out, err
}

// takePlan takes the caller's plan once it may run a fan-out: a caller at
// its bound of fan-outs waits for a slot (claimFanout) before the plan is
// taken, so a cancelled wait leaves the plan for later. release ends the
// fan-out.
func (s *Service) takePlan(ctx context.Context, id string) (*Change, func(), error) {
	release, err := s.claimFanout(ctx, time.Time{}, nil)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.changes.Take(ownerOf(ctx), id)
	if err != nil {
		release()
		return nil, nil, err
	}
	return c, release, nil
}

// runPlanned runs a plan taken from the store.
func (s *Service) runPlanned(ctx context.Context, c *Change, progress Progress, watch TargetDone) (*results.Answer, error) {
	// The plan runs as it was made, but only where the caller may still
	// change: an access policy may have changed since.
	for _, t := range c.targets {
		if acc, ok := s.access(ctx, t.acct); !ok || !acc.AllowChanges {
			return nil, fmt.Errorf("%w: the plan no longer holds: this caller may no longer change account %s; make a new plan", ErrChangesRefused, t.acct.ID)
		}
	}
	return s.runChange(ctx, c, progress, watch), nil
}

// changeAttrs are the audit attributes of a change.
func (s *Service) changeAttrs(ctx context.Context, c *Change) []any {
	return append([]any{"change_id", c.ID, "tool", c.ToolName, "arguments_sha256", c.ArgumentsSHA256}, s.who(ctx, true)...)
}

// runChange rolls the change out and returns every target's outcome.
func (s *Service) runChange(ctx context.Context, c *Change, progress Progress, watch TargetDone) *results.Answer {
	start := time.Now()
	owner := ownerOf(ctx)
	entries := make([]results.Entry, len(c.targets))
	for i, t := range c.targets {
		entries[i] = results.Entry{AccountID: t.acct.ID, Name: t.acct.Name, Region: t.region, Status: StatusPending}
	}
	answer := func() *results.Answer {
		a := &results.Answer{ToolName: c.ToolName, Results: append([]results.Entry(nil), entries...), Warnings: c.Warnings}
		a.Count()
		a.Summary.Accounts, a.Summary.Regions, a.Summary.DurationMS = c.Accounts, len(c.Regions), time.Since(start).Milliseconds()
		return a
	}
	stored := s.newResult(owner, answer(), "change_id", c.ID)
	id := stored.id
	// Calls in flight finish when the caller cancels: a write cut short
	// on our side may still land in AWS, and its answer says what it did.
	// The service's end still stops them.
	runCtx, cancel := context.WithCancel(withChange(context.WithoutCancel(ctx), c))
	defer cancel()
	stopLife := context.AfterFunc(s.life, cancel)
	defer stopLife()

	s.log.Info("change applying", append(s.changeAttrs(ctx, c), "targets", c.TargetCount,
		"canary", c.Bounds.Canary, "max_concurrency", c.Bounds.MaxConcurrency, "max_errors", c.Bounds.MaxErrors)...)
	var mu sync.Mutex
	finished := 0
	// A target's outcome is kept (and its progress told) once the rollout
	// has counted it against the failure budget.
	work := func(_ context.Context, i int) bool {
		t := c.targets[i]
		e := s.call(runCtx, t.acct, t.region, callSpec{tool: c.ToolName, args: c.Arguments, kind: callChange})
		mu.Lock()
		entries[i] = e
		mu.Unlock()
		return e.Status != StatusSuccess
	}
	done := func(i int, skipped string) {
		t := c.targets[i]
		mu.Lock()
		if skipped != "" {
			entries[i] = results.Entry{AccountID: t.acct.ID, Name: t.acct.Name, Region: t.region, Status: results.StatusSkipped,
				ErrorCode: results.StatusSkipped, Error: skipped}
		}
		e := entries[i]
		finished++
		n := finished
		mu.Unlock()
		if skipped != "" {
			s.log.Warn("change target skipped", append(s.changeAttrs(ctx, c), "account", t.acct.ID, "region", t.region, "reason", skipped)...)
		}
		stored.put(i, e.WithText())
		if watch != nil {
			watch(e, i < c.Bounds.Canary)
		}
		if progress != nil {
			progress(n, len(entries))
		}
	}
	stopCancel := context.AfterFunc(ctx, func() {
		s.log.Warn("change cancelled: no new target starts; the ones in flight finish", s.changeAttrs(ctx, c)...)
	})
	rep := rollout.Run(ctx, c.stages, c.Bounds, work, done)
	stopCancel()
	mu.Lock()
	out := answer()
	mu.Unlock()
	if rep.Stopped != "" {
		out.Warnings = append(append([]string(nil), out.Warnings...), fmt.Sprintf("change %s stopped: %s; %d skipped", c.ID, strings.TrimPrefix(rep.Stopped, "not started: "), len(rep.Skipped)))
	}
	out.Summary.Concurrency, out.Summary.ResultID = rep.Peak, id
	stored.finish(out.Summary)
	level := slogLevel(out.Summary.Failed+out.Summary.Skipped > 0)
	s.log.Log(ctx, level, "change applied", append(s.changeAttrs(ctx, c), "targets", c.TargetCount, "succeeded", out.Summary.Succeeded,
		"failed", out.Summary.Failed, "skipped", out.Summary.Skipped, "result_id", id, "duration", time.Since(start))...)
	return out
}

// argumentsHash names a tool call exactly: the SHA-256 of its tool name
// and compacted arguments.
func argumentsHash(tool string, args json.RawMessage) string {
	sum := sha256.Sum256(append([]byte(tool+"\n"), args...))
	return hex.EncodeToString(sum[:])
}

// compactJSON returns args compacted ({} when empty).
func compactJSON(args json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if len(args) == 0 || json.Compact(&b, args) != nil {
		return json.RawMessage("{}")
	}
	return b.Bytes()
}

// slogLevel is Warn for an outcome with failures, else Info.
func slogLevel(failures bool) slog.Level {
	if failures {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
