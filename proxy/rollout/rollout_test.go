package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in      string // JSON
		of40    int
		text    string
		wantErr string
	}{
		{in: `5`, of40: 5, text: "5"},
		{in: `"5"`, of40: 5, text: "5"},
		{in: `0`, of40: 0, text: "0"},
		{in: `"10%"`, of40: 4, text: "10%"},
		{in: `"12.5%"`, of40: 5, text: "12.5%"},
		{in: `"9%"`, of40: 3, text: "9%"}, // 3.6 rounds down, as StackSets does
		{in: `"0%"`, of40: 0, text: "0%"},
		{in: `"100%"`, of40: 40, text: "100%"},
		{in: `"101%"`, wantErr: "percentage"},
		{in: `-1`, wantErr: "whole number"},
		{in: `1.5`, wantErr: "whole number"},
		{in: `"ten"`, wantErr: "neither a count"},
		{in: `true`, wantErr: "not bool"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			l, err := ParseLimit(v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLimit(%s) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Of(40); got != tt.of40 {
				t.Errorf("Of(40) = %d, want %d", got, tt.of40)
			}
			if l.String() != tt.text {
				t.Errorf("String() = %q, want %q", l.String(), tt.text)
			}
		})
	}
}

func TestOptionsForAndValidate(t *testing.T) {
	b := Defaults().For(40, 0)
	if b != (Bounds{Canary: 1, MaxConcurrency: 4, MaxErrors: 0}) {
		t.Errorf("defaults over 40 = %+v", b)
	}
	if b := Defaults().For(3, 0); b.MaxConcurrency != 1 {
		t.Errorf("10%% of 3 targets = %d at once, want at least 1", b.MaxConcurrency)
	}
	if b := (Options{Canary: 5, MaxConcurrency: Limit{Count: 500}}).For(2, 128); b.Canary != 2 || b.MaxConcurrency != 128 {
		t.Errorf("bounds = %+v, want the canary cut to the targets and the ceiling kept", b)
	}
	bad := []Options{
		{Canary: -1, MaxConcurrency: Limit{Count: 1}, RegionOrder: Sequential},
		{MaxConcurrency: Limit{Count: 0}, RegionOrder: Sequential},
		{MaxConcurrency: Percentage(0), RegionOrder: Sequential},
		{MaxConcurrency: Limit{Count: 1}, RegionOrder: "random"},
	}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
	if err := Defaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestOrderAndStages(t *testing.T) {
	// Four accounts in two regions, listed account by account.
	regions := []string{"us-east-1", "eu-west-1", "us-east-1", "eu-west-1", "us-east-1", "eu-west-1"}
	region := func(i int) string { return regions[i] }
	tests := []struct {
		name   string
		o      Options
		canary int
		want   string
	}{
		{"sequential in target order", Options{RegionOrder: Sequential}, 1, "[0] [2 4] [1 3 5]"},
		{"sequential in the given order", Options{RegionOrder: Sequential, Regions: []string{"eu-west-1"}}, 1, "[1] [3 5] [0 2 4]"},
		{"parallel", Options{RegionOrder: Parallel}, 2, "[0 1] [2 3 4 5]"},
		{"no canary", Options{RegionOrder: Parallel}, 0, "[0 1 2 3 4 5]"},
		{"canary spans a region", Options{RegionOrder: Sequential}, 4, "[0 2 4 1] [3 5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := tt.o.Order(len(regions), region)
			var parts []string
			for _, s := range tt.o.Stages(order, tt.canary, region) {
				parts = append(parts, fmt.Sprint(s))
			}
			if got := strings.Join(parts, " "); got != tt.want {
				t.Errorf("stages = %s, want %s", got, tt.want)
			}
		})
	}
}

// recorder is a Work that records what ran, in what order, and how many
// ran at once; the targets in fail fail.
type recorder struct {
	mu      sync.Mutex
	seq     int
	running int
	peak    int
	started map[int]int // target → sequence number at start
	ended   map[int]int
	alone   map[int]bool // target ran with nothing else running
	fail    map[int]bool
}

func newRecorder(fail ...int) *recorder {
	r := &recorder{started: map[int]int{}, ended: map[int]int{}, alone: map[int]bool{}, fail: map[int]bool{}}
	for _, i := range fail {
		r.fail[i] = true
	}
	return r
}

func (r *recorder) work(_ context.Context, i int) bool {
	r.mu.Lock()
	r.seq++
	r.started[i] = r.seq
	r.running++
	r.peak = max(r.peak, r.running)
	r.alone[i] = r.running == 1
	r.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alone[i] = r.alone[i] && r.running == 1
	r.running--
	r.seq++
	r.ended[i] = r.seq
	return r.fail[i]
}

func TestRunStopsOnceTheFailureBudgetIsSpent(t *testing.T) {
	const n = 40
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	o := Options{RegionOrder: Parallel}
	stages := o.Stages(order, 1, func(int) string { return "us-east-1" })
	rec := newRecorder(6) // the 7th target fails
	// The targets after it wait until the rollout has counted its failure,
	// so the ones that ran were in flight then: at most 4 beside it.
	counted := make(chan struct{})
	work := func(ctx context.Context, i int) bool {
		if i > 6 {
			<-counted
		}
		return rec.work(ctx, i)
	}
	done := map[int]int{}
	rep := Run(context.Background(), stages, Bounds{Canary: 1, MaxConcurrency: 5, MaxErrors: 0}, work, func(i int, _ string) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		done[i]++
		if i == 6 {
			close(counted)
		}
	})
	if !rec.alone[0] || rec.ended[0] > minValue(rec.started, 0) {
		t.Errorf("the canary did not run first and alone: %v", rec.started)
	}
	if rep.Peak > 5 || rec.peak > 5 {
		t.Errorf("peak %d (work saw %d), want at most 5", rep.Peak, rec.peak)
	}
	after := 0
	for i := range rec.started {
		if i > 6 {
			after++
		}
	}
	if after > 4 {
		t.Errorf("%d targets after the failing one ran, want at most 4 (in flight when it failed)", after)
	}
	if rep.Failed != 1 || !strings.Contains(rep.Stopped, "failure budget") {
		t.Errorf("report = %+v", rep)
	}
	if len(rec.started)+len(rep.Skipped) != n {
		t.Errorf("%d ran + %d skipped, want %d", len(rec.started), len(rep.Skipped), n)
	}
	for i := range n {
		_, ran := rec.started[i]
		_, skipped := rep.Skipped[i]
		if ran == skipped || done[i] != 1 {
			t.Errorf("target %d: ran %v, skipped %v, done told %d times", i, ran, skipped, done[i])
		}
	}
}

func minValue(m map[int]int, except int) int {
	low := int(^uint(0) >> 1)
	for k, v := range m {
		if k != except {
			low = min(low, v)
		}
	}
	return low
}

func TestRunFailureBudgetAsPercentage(t *testing.T) {
	tests := []struct {
		failing  []int
		wantRun  int
		stopping bool
	}{
		{failing: []int{3, 10, 20}, wantRun: 40},
		{failing: []int{3, 10, 20, 30}, wantRun: 40}, // 4 is 10 % of 40: not more than it
		{failing: []int{3, 4, 5, 6, 7}, stopping: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.failing), func(t *testing.T) {
			order := make([]int, 40)
			for i := range order {
				order[i] = i
			}
			o := Options{RegionOrder: Parallel, MaxErrors: Percentage(10), MaxConcurrency: Limit{Count: 1}}
			b := o.For(40, 0)
			rec := newRecorder(tt.failing...)
			rep := Run(context.Background(), o.Stages(order, 1, func(int) string { return "r" }), b, rec.work, nil)
			if tt.stopping {
				// One at a time: the 5th failure (target 7) is the last to run.
				if len(rec.started) != 8 || len(rep.Skipped) != 32 {
					t.Errorf("ran %d, skipped %d; want 8 and 32", len(rec.started), len(rep.Skipped))
				}
				return
			}
			if len(rec.started) != tt.wantRun || rep.Stopped != "" {
				t.Errorf("ran %d (stopped %q), want %d", len(rec.started), rep.Stopped, tt.wantRun)
			}
		})
	}
}

func TestRunCancelledStartsNothingNew(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	order := []int{0, 1, 2, 3, 4}
	o := Options{RegionOrder: Parallel}
	ran := 0
	rep := Run(ctx, o.Stages(order, 1, func(int) string { return "r" }), Bounds{Canary: 1, MaxConcurrency: 1},
		func(context.Context, int) bool {
			ran++
			if ran == 2 {
				cancel()
			}
			return false
		}, nil)
	if ran != 2 || len(rep.Skipped) != 3 || !strings.Contains(rep.Skipped[4], "cancelled") {
		t.Errorf("ran %d, report %+v", ran, rep)
	}
}

func TestRunSequentialRegionsWaitForEachOther(t *testing.T) {
	regions := []string{"a", "b", "a", "b", "a", "b"}
	region := func(i int) string { return regions[i] }
	o := Options{RegionOrder: Sequential, Regions: []string{"b", "a"}}
	rec := newRecorder()
	Run(context.Background(), o.Stages(o.Order(6, region), 1, region), Bounds{Canary: 1, MaxConcurrency: 3}, rec.work, nil)
	lastB := max(rec.ended[1], rec.ended[3], rec.ended[5])
	for _, i := range []int{0, 2, 4} {
		if rec.started[i] < lastB {
			t.Errorf("target %d in region a started before region b finished", i)
		}
	}
}
