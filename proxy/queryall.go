package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// ErrWriteRefused is returned when a tool that is not read-only is refused
// by the write guard or by read-only mode.
var ErrWriteRefused = errors.New("refused")

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
}

// Summary counts the outcome of a fan-out.
type Summary struct {
	Total       int   `json:"total"`
	Succeeded   int   `json:"succeeded"`
	Failed      int   `json:"failed"`
	Accounts    int   `json:"accounts"`
	Regions     int   `json:"regions"`
	Concurrency int   `json:"concurrency"`
	DurationMS  int64 `json:"duration_ms"`
}

// QueryAllResult is the answer of a fan-out: one Result per account and
// region, in account order, plus a summary.
type QueryAllResult struct {
	ToolName string   `json:"tool_name"`
	Results  []Result `json:"results"`
	Summary  Summary  `json:"summary"`
	// Warnings name account sources that failed (their accounts are missing).
	Warnings []string `json:"warnings,omitempty"`
}

// Progress is told how many of total calls have finished.
type Progress func(done, total int)

// target is one (account, region) pair of a fan-out.
type target struct {
	acct   accounts.Account
	region string
}

// QueryAll calls a tool in every selected account (and region) in parallel,
// at most Concurrency at a time, each bounded by the per-account timeout.
// One account's failure never fails the whole call: it is a Result with
// StatusError. An invalid request, an empty selection or a refused write
// tool is an error, returned before any upstream call. If ctx ends, calls
// in flight are abandoned and the rest are reported as cancelled, so every
// target still has its Result.
func (s *Service) QueryAll(ctx context.Context, req QueryAllRequest, progress Progress) (*QueryAllResult, error) {
	start := time.Now()
	if err := validateToolName(req.ToolName); err != nil {
		return nil, err
	}
	regions, err := requestRegions(req.Region, req.Regions)
	if err != nil {
		return nil, err
	}
	all, warnings, err := s.listAccounts(ctx)
	if err != nil {
		return nil, err
	}
	selected, err := accounts.Select(all, req.Selector)
	if err != nil {
		return nil, err
	}
	guard := !s.cfg.AllowWriteFanout || s.cfg.ReadOnly
	readOnly, err := s.classify(ctx, selected, req.ToolName, req.Arguments, guard)
	if err != nil {
		return nil, err
	}
	if guard && !readOnly {
		why := "query_all fans out only read-only tools; set --allow-write-fanout (AWS_MCP_ALLOW_WRITE_FANOUT=true) to lift this guard, or use query for one account"
		if s.cfg.ReadOnly {
			why = "read-only mode (--read-only, AWS_MCP_READ_ONLY) is on"
		}
		return nil, fmt.Errorf("%w: %s", ErrWriteRefused, writeRefusal(req.ToolName, req.Arguments, why))
	}

	var targets []target
	regionSet := map[string]bool{}
	for _, a := range selected {
		rs := regions
		if len(rs) == 0 {
			rs = s.defaultRegions(a)
		}
		for _, r := range rs {
			targets = append(targets, target{acct: a, region: r})
			regionSet[r] = true
		}
	}

	results := fanOut(ctx, len(targets), s.cfg.Concurrency, func(ctx context.Context, i int) (res Result) {
		t := targets[i]
		failed := func(code, msg string) Result {
			return Result{AccountID: t.acct.ID, Name: t.acct.Name, Region: t.region, Status: StatusError, ErrorCode: code, Error: msg}
		}
		defer func() {
			// One account's panic must not take the server down with it.
			if p := recover(); p != nil {
				s.log.Error("panic in fan-out worker", "account", t.acct.ID, "panic", fmt.Sprint(p))
				res = failed(CodeUpstream, fmt.Sprintf("internal error: %v", p))
			}
		}()
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return failed(CodeTimeout, "timed out before the account was queried (the caller's deadline passed)")
		case ctx.Err() != nil:
			return failed(CodeCancelled, "cancelled before the account was queried")
		}
		res = s.call(ctx, t.acct, t.region, req.ToolName, req.Arguments, readOnly)
		if res.ErrorCode == CodeToolError {
			res.Data = nil // an entry is data or error; the tool's text is in error
		}
		return res
	}, progress)

	out := &QueryAllResult{ToolName: req.ToolName, Results: results, Warnings: warnings}
	out.Summary = Summary{
		Total: len(results), Accounts: len(selected), Regions: len(regionSet),
		Concurrency: min(s.cfg.Concurrency, len(targets)), DurationMS: time.Since(start).Milliseconds(),
	}
	for _, r := range results {
		if r.Status == StatusSuccess {
			out.Summary.Succeeded++
		} else {
			out.Summary.Failed++
		}
	}
	return out, nil
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

// fanOut runs fn for indices 0..n-1 on at most limit goroutines and returns
// the results in index order. done is called after each completion, one
// call at a time and with a count that only grows.
func fanOut[T any](ctx context.Context, n, limit int, fn func(context.Context, int) T, done Progress) []T {
	results := make([]T, n)
	workers := min(limit, n)
	var next atomic.Int64
	var mu sync.Mutex
	finished := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				results[i] = fn(ctx, i)
				mu.Lock()
				finished++
				if done != nil {
					done(finished, n)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return results
}
