// Package rollout runs a change over many targets the way AWS rolls out
// changes across accounts: a canary first and alone, then waves bounded by
// a concurrency, and a failure budget after which no new target starts.
//
// Its rate controls follow Systems Manager Run Command (MaxConcurrency "10"
// or "10%", MaxErrors "0", "1", "10%": once errors exceed MaxErrors no new
// target starts; https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html)
// and the CloudFormation StackSets operation preferences (percentages
// round down, a concurrency is at least 1; regions SEQUENTIAL or PARALLEL
// in a RegionOrder; https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html).
// It knows nothing of accounts or AWS: targets are indices.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Defaults of Options.
const (
	DefaultCanary = 1
)

// DefaultMaxConcurrency is 10 % of the targets; DefaultMaxErrors is 0.
var (
	DefaultMaxConcurrency = Percentage(10)
	DefaultMaxErrors      = Limit{}
)

// Limit is a count of targets, or a percentage of them (made with
// Percentage).
type Limit struct {
	Count int
	// percent is the limit instead of Count when isPercent (0 % is one).
	percent   float64
	isPercent bool
}

// Percentage returns the limit of p percent of the targets.
func Percentage(p float64) Limit { return Limit{percent: p, isPercent: true} }

// ParseLimit reads a limit from a JSON number or string: 5, "5" or "10%".
func ParseLimit(v any) (Limit, error) {
	switch x := v.(type) {
	case float64:
		if x < 0 || x != math.Trunc(x) {
			return Limit{}, fmt.Errorf("%v is not a whole number of targets", x)
		}
		return Limit{Count: int(x)}, nil
	case string:
		s := strings.TrimSpace(x)
		if p, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || f < 0 || f > 100 {
				return Limit{}, fmt.Errorf("%q is not a percentage from 0%% to 100%%", x)
			}
			return Percentage(f), nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Limit{}, fmt.Errorf("%q is neither a count (\"5\") nor a percentage (\"10%%\")", x)
		}
		return Limit{Count: n}, nil
	}
	return Limit{}, fmt.Errorf("a limit is a count (5) or a percentage (\"10%%\"), not %T", v)
}

// IsPercent says the limit is a percentage.
func (l Limit) IsPercent() bool { return l.isPercent }

// Of is the limit over total targets: a percentage rounds down.
func (l Limit) Of(total int) int {
	if l.IsPercent() {
		return int(math.Floor(l.percent * float64(total) / 100))
	}
	return l.Count
}

// String is the limit as it was given: "5" or "10%".
func (l Limit) String() string {
	if l.IsPercent() {
		return strconv.FormatFloat(l.percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(l.Count)
}

// MarshalJSON writes a count as a number and a percentage as a string.
func (l Limit) MarshalJSON() ([]byte, error) {
	if l.IsPercent() {
		return []byte(strconv.Quote(l.String())), nil
	}
	return []byte(strconv.Itoa(l.Count)), nil
}

// Region orders of Options.
const (
	// Sequential finishes every target of a region before the next region
	// starts (StackSets' SEQUENTIAL).
	Sequential = "sequential"
	// Parallel runs every region's targets in one wave (PARALLEL).
	Parallel = "parallel"
)

// Options are a rollout's rate controls.
type Options struct {
	// Canary is how many targets run first, with nothing else running;
	// the rest start only once they have all finished.
	Canary int `json:"canary"`
	// MaxConcurrency bounds the targets running at once (at least 1).
	MaxConcurrency Limit `json:"max_concurrency"`
	// MaxErrors is the failure budget: once more targets than this have
	// failed, no new target starts.
	MaxErrors Limit `json:"max_errors"`
	// RegionOrder is Sequential or Parallel.
	RegionOrder string `json:"region_order"`
	// Regions orders the regions of a sequential rollout; regions it does
	// not name follow in the order of the targets.
	Regions []string `json:"regions,omitempty"`
}

// Defaults returns the options a change gets when it names none.
func Defaults() Options {
	return Options{Canary: DefaultCanary, MaxConcurrency: DefaultMaxConcurrency, MaxErrors: DefaultMaxErrors, RegionOrder: Sequential}
}

// Bounds are the options applied to a number of targets.
type Bounds struct {
	Canary         int `json:"canary"`
	MaxConcurrency int `json:"max_concurrency"`
	MaxErrors      int `json:"max_errors"`
}

// For applies the options to total targets, with at most ceiling at once
// (0: no ceiling).
func (o Options) For(total, ceiling int) Bounds {
	b := Bounds{Canary: min(o.Canary, total), MaxConcurrency: max(1, o.MaxConcurrency.Of(total)), MaxErrors: o.MaxErrors.Of(total)}
	if ceiling > 0 {
		b.MaxConcurrency = min(b.MaxConcurrency, ceiling)
	}
	return b
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Canary < 0 {
		return errors.New("canary must be 0 or more targets")
	}
	if o.RegionOrder != Sequential && o.RegionOrder != Parallel {
		return fmt.Errorf("region_order must be %q, %q or a list of regions", Sequential, Parallel)
	}
	if c := o.MaxConcurrency; (c.IsPercent() && c.percent <= 0) || (!c.IsPercent() && c.Count < 1) {
		return errors.New("max_concurrency must be at least 1 target (or a percentage above 0%)")
	}
	return nil
}

// Order returns the targets in the order they start: by region (the
// options' region order first) when sequential, else as given. region
// names each target's region.
func (o Options) Order(n int, region func(i int) string) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if o.RegionOrder == Parallel {
		return order
	}
	rank := o.regionRanks(n, region)
	slices.SortStableFunc(order, func(a, b int) int { return rank[region(a)] - rank[region(b)] })
	return order
}

func (o Options) regionRanks(n int, region func(i int) string) map[string]int {
	rank := map[string]int{}
	for _, r := range o.Regions {
		if _, ok := rank[r]; !ok {
			rank[r] = len(rank)
		}
	}
	for i := 0; i < n; i++ {
		if _, ok := rank[region(i)]; !ok {
			rank[region(i)] = len(rank)
		}
	}
	return rank
}

// Stages splits the ordered targets into what runs one after another: the
// canary, then each region (sequential) or everything else (parallel).
func (o Options) Stages(order []int, canary int, region func(i int) string) [][]int {
	var stages [][]int
	if canary > 0 {
		stages = append(stages, order[:canary])
	}
	rest := order[canary:]
	if o.RegionOrder == Parallel {
		if len(rest) > 0 {
			stages = append(stages, rest)
		}
		return stages
	}
	for len(rest) > 0 {
		j := 1
		for j < len(rest) && region(rest[j]) == region(rest[0]) {
			j++
		}
		stages = append(stages, rest[:j])
		rest = rest[j:]
	}
	return stages
}

// Work changes one target and reports whether it failed.
type Work func(ctx context.Context, i int) (failed bool)

// Report is how a rollout went.
type Report struct {
	// Skipped holds the targets that never started, with the reason.
	Skipped map[int]string
	// Failed counts the targets whose work failed.
	Failed int
	// Peak is the most targets that ran at once.
	Peak int
	// Stopped says why the rollout stopped early ("" when it did not).
	Stopped string
}

// Run rolls work out over the stages: each stage starts after the one
// before has finished, its targets at most b.MaxConcurrency at a time.
// Before a target starts, the rollout stops when more than b.MaxErrors
// targets have failed or ctx has ended; the targets in flight finish, and
// every target not started is skipped with the reason. done is told of
// every finished target (skipped "") or skipped one (with the reason),
// after a failure has been counted.
func Run(ctx context.Context, stages [][]int, b Bounds, work Work, done func(i int, skipped string)) Report {
	r := &runner{b: b, work: work, done: done, rep: Report{Skipped: map[int]string{}}}
	for _, stage := range stages {
		r.stage(ctx, stage)
	}
	return r.rep
}

type runner struct {
	b    Bounds
	work Work
	done func(i int, skipped string)

	mu      sync.Mutex
	running int
	rep     Report
}

// stage runs one stage's targets with a sliding window of workers.
func (r *runner) stage(ctx context.Context, targets []int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.b.MaxConcurrency)
	for _, i := range targets {
		sem <- struct{}{}
		if why := r.stopReason(ctx); why != "" {
			<-sem
			r.skip(i, why)
			continue
		}
		r.mu.Lock()
		r.running++
		r.rep.Peak = max(r.rep.Peak, r.running)
		r.mu.Unlock()
		wg.Go(func() {
			defer func() { <-sem }()
			failed := r.work(ctx, i)
			r.mu.Lock()
			r.running--
			if failed {
				r.rep.Failed++
			}
			r.mu.Unlock()
			if r.done != nil {
				r.done(i, "")
			}
		})
	}
	wg.Wait()
}

// stopReason says why no new target may start, or "".
func (r *runner) stopReason(ctx context.Context) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rep.Stopped != "" {
		return r.rep.Stopped
	}
	switch {
	case r.rep.Failed > r.b.MaxErrors:
		r.rep.Stopped = fmt.Sprintf("not started: the failure budget is spent (%d failed, max_errors %d)", r.rep.Failed, r.b.MaxErrors)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.rep.Stopped = "not started: the change's deadline passed"
	case ctx.Err() != nil:
		r.rep.Stopped = "not started: the change was cancelled"
	}
	return r.rep.Stopped
}

func (r *runner) skip(i int, why string) {
	r.mu.Lock()
	r.rep.Skipped[i] = why
	r.mu.Unlock()
	if r.done != nil {
		r.done(i, why)
	}
}
