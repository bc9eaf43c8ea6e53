// Package proxy is the multi-account core: it resolves accounts, fans tool
// calls out to the AWS MCP Server with each account's credentials, and
// exposes the result as MCP tools (list_accounts, query, query_all,
// list_tools, get_result, and where changes are allowed change_all and
// apply_change; toolSpecs in tools.go lists them). The stdio server, the
// team server and the Lambda bridge are all built on it.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
	"github.com/centralops/aws-mcp-multi-account/proxy/plans"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// Credentials resolves the credentials of an account for the context's
// caller.
type Credentials interface {
	// For returns the provider whose credentials sign the account's calls,
	// and a key naming them: calls with the same key share an upstream
	// session.
	// p is the session policy the credentials must carry.
	For(ctx context.Context, a accounts.Account, p SessionPolicy) (aws.CredentialsProvider, string, error)
	// SessionName names the account's credentials in audit lines: the
	// RoleSessionName CloudTrail records, or the profile.
	SessionName(ctx context.Context, a accounts.Account) string
}

// Service answers list_accounts, query and query_all. It is safe for
// concurrent use; build one per process and share it.
type Service struct {
	cfg   Config
	dir   *accounts.Directory
	creds Credentials
	pool  *upstream.Pool
	log   *slog.Logger
	// taskShapeOnce logs an unreadable get_tasks answer once.
	taskShapeOnce sync.Once
	// polling counts the scripts' tasks being polled (the poll budget).
	polling atomic.Int64
	tools   toolCache
	// store keeps answers for get_result; nil keeps none.
	store results.Store
	// tasks runs query_all as an MCP task (set by NewServer).
	tasks *taskTracker
	// changes keeps planned changes until they are applied.
	changes *changeStore

	// life ends background fan-outs (accounts still running after a
	// reply) when the service closes; bg counts them.
	life context.Context
	stop context.CancelFunc
	bg   sync.WaitGroup

	// fanouts bounds each caller's fan-outs running at once
	// (CallerFanouts) and queues the rest.
	fanouts *fanoutSlots
}

// New returns a Service over the directory, credentials and upstream pool.
// Answers are kept for get_result once SetStore gives it a store.
func New(cfg Config, dir *accounts.Directory, creds Credentials, pool *upstream.Pool, log *slog.Logger) *Service {
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = DefaultRegion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.MaxConcurrency = max(cfg.MaxConcurrency, cfg.Concurrency)
	if cfg.ResultBudget <= 0 {
		cfg.ResultBudget = results.DefaultBudget
	}
	if cfg.ResultBudgetMax <= 0 {
		cfg.ResultBudgetMax = max(results.DefaultBudgetMax, cfg.ResultBudget)
	}
	if log == nil {
		log = slog.Default()
	}
	life, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, dir: dir, creds: creds, pool: pool, log: log, life: life, stop: stop, fanouts: newFanoutSlots(cfg.CallerFanouts, cfg.setting("caller-fanouts")),
		changes: plans.New[*Change](plans.DefaultTTL)}
}

// SetStore makes the service keep every answer in store for get_result.
// Call it before serving.
func (s *Service) SetStore(store results.Store) { s.store = store }

// Close cancels the fan-outs still running in the background and waits
// for them until ctx ends.
func (s *Service) Close(ctx context.Context) {
	s.stop()
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Status values of a QueryResult and of a fan-out's entries.
const (
	StatusSuccess = results.StatusSuccess
	StatusError   = results.StatusError
	StatusPending = results.StatusPending
)

// QueryRequest is one tool call in one account.
type QueryRequest struct {
	AccountID string
	ToolName  string
	// Arguments is the upstream tool's arguments, a JSON object.
	Arguments json.RawMessage
	// Region overrides the account's default region.
	Region string
	// JMESPath projects the answer (the AWS CLI's --query semantics).
	JMESPath string
}

// QueryResult is one account's answer to a query: its Result (projected
// when the request has a JMESPath) and the id it is stored under.
type QueryResult struct {
	results.Entry
	// ResultID names the stored answer ("" when answers are not kept).
	ResultID string `json:"result_id,omitempty"`
	// Note says where data left out for the budget can be read.
	Note string `json:"note,omitempty"`
	// Raw is the unprojected upstream result; JMESPath the projection.
	Raw      json.RawMessage `json:"-"`
	JMESPath string          `json:"-"`
}

// Query calls a tool in one configured account. Request problems (unknown
// account, a refused write tool, an invalid jmespath) are errors, found
// before any call; the account's own failure is a Result with StatusError.
// The full answer is kept in the result store.
func (s *Service) Query(ctx context.Context, req QueryRequest) (QueryResult, error) {
	if err := validateToolName(req.ToolName); err != nil {
		return QueryResult{}, err
	}
	proj, err := results.Compile(req.JMESPath)
	if err != nil {
		return QueryResult{}, err
	}
	acct, err := s.lookup(ctx, req.AccountID)
	if err != nil {
		return QueryResult{}, err
	}
	region := req.Region
	if region == "" {
		region = s.defaultRegions(acct)[0]
	}
	if !accounts.ValidRegion(region) {
		return QueryResult{}, fmt.Errorf("region %q is not a valid AWS region name", region)
	}
	mode := s.modeFor(ctx, acct)
	readOnly := false
	// An AWS CLI command that writes is refused in read-only mode before
	// any network call.
	if !(mode.readOnly && req.ToolName == CallAWSTool && !guard.ReadOnlyArguments(req.Arguments)) {
		if readOnly, err = s.classify(ctx, []accounts.Account{acct}, req.ToolName, req.Arguments, mode.readOnly, false); err != nil {
			return QueryResult{}, err
		}
	}
	// A script is bounded by IAM: in read-only mode its session carries the
	// read-only policy. Any other tool that is not read-only is refused.
	if mode.readOnly && !readOnly && req.ToolName != RunScriptTool {
		return QueryResult{}, fmt.Errorf("%w: %s", ErrWriteRefused, writeRefusal(req.ToolName, req.Arguments, mode.readOnlyWhy))
	}
	res := s.call(ctx, acct, region, callSpec{tool: req.ToolName, args: req.Arguments, readOnly: readOnly})
	out := QueryResult{Entry: proj.Entry(res), Raw: res.Data, JMESPath: proj.String()}
	if s.store != nil {
		a := &results.Answer{ToolName: req.ToolName, JMESPath: proj.String(), Results: []results.Entry{res.WithText()}}
		a.Count()
		a.Summary.Accounts, a.Summary.Regions, a.Summary.Concurrency, a.Summary.DurationMS = 1, 1, 1, res.DurationMS
		out.ResultID = s.newResult(ownerOf(ctx), a, "account", acct.ID).id
	}
	return out, nil
}

// defaultRegions are the regions of a query that names none.
func (s *Service) defaultRegions(a accounts.Account) []string {
	if len(a.Regions) > 0 {
		return a.Regions
	}
	return []string{s.cfg.DefaultRegion}
}

// callSpec is one upstream call: the tool, its arguments, whether it is
// read-only by its own nature (it may be retried), and whether it is part
// of a fan-out (IAM-bounded tools then run in the fan-out session).
type callSpec struct {
	tool string
	args json.RawMessage
	// readOnly says the tool is read-only by its own nature.
	readOnly bool
	kind     callKind
}

// callKind is what a call is part of, which decides its session policy.
type callKind int

const (
	// callSingle is a query: the account's own mode.
	callSingle callKind = iota
	// callFanout is one target of a query_all: the fan-out session.
	callFanout
	// callPreview is one target of a change's preview: the read-only
	// fan-out session, whatever the caller's access.
	callPreview
	// callChange is one target of a change: the role's own permissions
	// less secret reads.
	callChange
)

// fanout reports whether the call is one target of many.
func (k callKind) fanout() bool { return k == callFanout || k == callPreview }

// call runs one tool call in one account and region, bounded by the
// per-account timeout, and logs one audit line. A script's task is polled
// to its end, and a script's error answer is an error entry.
func (s *Service) call(ctx context.Context, acct accounts.Account, region string, c callSpec) results.Entry {
	start := time.Now()
	res := results.Entry{AccountID: acct.ID, Name: acct.Name, Region: region}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	acc, _ := s.access(ctx, acct)
	if c.kind == callPreview {
		acc.ReadOnly, acc.AllowWriteFanout = true, false
	}
	var policy SessionPolicy
	if c.kind == callChange {
		policy = s.changePolicy(acc)
	} else {
		policy = s.policyFor(acc, c.kind.fanout())
	}
	var data json.RawMessage
	var script *taskState
	var err error
	switch {
	case acct.Profile != "" && iamBounded(c.tool) && !policy.none() && !c.readOnly:
		err = fmt.Errorf("%w: account %s signs with the credentials of profile %q, which cannot carry the session policy that keeps %s %s; query it with query%s, or configure it as a role account",
			ErrNoSessionPolicy, acct.ID, acct.Profile, c.tool, boundWhat(policy), s.unlessWrite(c.kind.fanout()))
	case acct.SSORole != "" && policy.ReadOnly && !acct.SSOReadOnly && !c.readOnly:
		// Credentials of a permission set carry no session policy: what
		// keeps the call read-only is the permission set itself.
		err = fmt.Errorf("%w: account %s signs with its IAM Identity Center role %s, which cannot carry a session policy and is not declared read-only (%s), so %s could write there; put a read-only permission set first in %s (e.g. ReadOnlyAccess), or allow write fan-out (%s)",
			ErrNoSessionPolicy, acct.ID, acct.SSORole, s.cfg.setting("sso-read-only-roles"), c.tool, s.cfg.setting("sso-role"), s.cfg.setting("allow-write-fanout"))
	default:
		data, script, err = s.callUpstream(ctx, acct, region, c, policy)
	}
	res.DurationMS = time.Since(start).Milliseconds()
	switch {
	case err != nil:
		res.Status, res.ErrorCode, res.Error = StatusError, classifyError(ctx, err), s.describeError(ctx, err, time.Since(start))
	default:
		res.Data = data
		if code, text, failed := scriptOutcome(script, data); failed {
			res.Status, res.ErrorCode, res.Error = StatusError, code, text
		} else if text, isErr := toolOutcome(data); isErr {
			res.Status, res.ErrorCode, res.Error = StatusError, CodeToolError, "tool error: "+text
		} else {
			res.Status = StatusSuccess
		}
	}
	s.audit(ctx, acct, c.tool, res, time.Since(start))
	return res
}

func boundWhat(p SessionPolicy) string {
	if p.ReadOnly {
		return "read-only and secret-free"
	}
	return "secret-free"
}

func (s *Service) unlessWrite(fanout bool) string {
	if fanout {
		return " (with " + s.cfg.setting("allow-write-fanout") + " and " + s.cfg.setting("allow-secret-fanout") + " a fan-out needs no session policy)"
	}
	return ""
}

// audit logs one structured line per upstream call, fit for CloudWatch.
func (s *Service) audit(ctx context.Context, acct accounts.Account, tool string, res results.Entry, took time.Duration) {
	attrs := []any{"account", acct.ID, "region", res.Region, "tool", tool, "duration", took,
		"outcome", res.Status, "session", s.creds.SessionName(ctx, acct)}
	ch := changeFrom(ctx)
	if ch != nil {
		attrs = append(attrs, "change_id", ch.ID, "arguments_sha256", ch.ArgumentsSHA256)
	}
	attrs = append(attrs, s.who(ctx, ch != nil)...)
	failed := res.Status != StatusSuccess
	if failed {
		attrs = append(attrs, "error_code", res.ErrorCode, "error", res.Error)
	}
	s.log.Log(ctx, slogLevel(failed), "upstream call", attrs...)
}

// who names the context's caller in an audit line; without one, the local
// user when localUser asks for it (the lines of a change).
func (s *Service) who(ctx context.Context, localUser bool) []any {
	if c := CallerFrom(ctx); c != nil {
		if c.Email != "" {
			return []any{"caller", c.Subject, "email", c.Email}
		}
		return []any{"caller", c.Subject}
	}
	if localUser && s.cfg.LocalUser != "" {
		return []any{"user", s.cfg.LocalUser}
	}
	return nil
}

// credentials returns the account's upstream target (its retrieved-once
// provider and session key) and its current credentials; an AssumeRole
// failure stays an AssumeRoleError.
func (s *Service) credentials(ctx context.Context, acct accounts.Account, p SessionPolicy) (upstream.Target, aws.Credentials, error) {
	wrap := func(err error) error {
		var assume *auth.AssumeRoleError
		if errors.As(err, &assume) || ctx.Err() != nil {
			return err
		}
		return &CredentialsError{AccountID: acct.ID, Err: err}
	}
	creds, key, err := s.creds.For(ctx, acct, p)
	if err != nil {
		return upstream.Target{}, aws.Credentials{}, wrap(err)
	}
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return upstream.Target{}, aws.Credentials{}, wrap(err)
	}
	return upstream.Target{AccountID: acct.ID, Key: key, Credentials: creds}, c, nil
}

// callUpstream gets the account's credentials with the session policy, then
// calls the tool upstream, polling a script's task to its end; a script's
// answer comes with its decoded envelope.
func (s *Service) callUpstream(ctx context.Context, acct accounts.Account, region string, c callSpec, p SessionPolicy) (json.RawMessage, *taskState, error) {
	// Retrieve first, so an AssumeRole failure is reported as such rather
	// than as a failed HTTP request.
	target, creds, err := s.credentials(ctx, acct, p)
	if err != nil {
		return nil, nil, err
	}
	// A call whose session is read-only by IAM may be retried like a read.
	idempotent := c.readOnly || (iamBounded(c.tool) && p.ReadOnly)
	s.log.Debug("credentials ready", "account", acct.ID, "source", creds.Source, slog.Time("expires", creds.Expires))
	s.log.Debug("calling upstream tool", "account", acct.ID, "region", region, "tool", c.tool, "arguments_bytes", len(c.args),
		"read_only", idempotent, "session_policy", !p.none())
	args := c.args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	ctx = upstream.WithTenant(ctx, ownerOf(ctx))
	data, err := s.pool.CallTool(ctx, target, c.tool, args, region, idempotent)
	if err != nil || c.tool != RunScriptTool {
		return data, nil, err
	}
	return s.awaitTask(ctx, target, region, data)
}
