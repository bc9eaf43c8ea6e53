package upstream

import (
	"context"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Defaults of the per-account pacing. The AWS MCP Server allows an account
// 10 requests a second sustained in each endpoint Region and 100 concurrent
// connections (Agent Toolkit for AWS user guide, "AWS MCP Server quotas",
// read 2026-12-06; an older version said 3 and 27); beyond that it answers
// HTTP 429. Every request of an account goes to the one endpoint Region, so
// the regions of a fan-out and the polls of its tasks share one account's
// quota (https://docs.aws.amazon.com/agent-toolkit/latest/userguide/aws-mcp-limits.html).
// The quotas are per account: a fan-out over N accounts has N of them. In
// flight, half the connections: the rest stay for the person's other
// clients of the same account.
const (
	DefaultAccountRPS         = 10
	DefaultAccountConcurrency = 50
)

// pacing hands out one pacer per account: a token bucket of rps requests a
// second and a bound on requests in flight. The bucket holds one token
// less than a second's worth (9 at 10 a second: the burst a cold account
// may send at once, then one every 100 ms): the upstream's own bucket starts when our
// first request reaches it, and a later request that travels faster than
// that first one (a warm connection, after the first one's handshake) would
// otherwise arrive early and be refused. Once, at the start, it lends the
// missing token so that a cold account's first requests go out together.
type pacing struct {
	rps      float64
	inflight int

	mu     sync.Mutex
	pacers map[string]*pacer
}

type pacer struct {
	limit *rate.Limiter
	bonus atomic.Bool
	slots chan struct{}
}

func newPacing(rps float64, inflight int) *pacing {
	if rps <= 0 && inflight <= 0 {
		return nil
	}
	return &pacing{rps: rps, inflight: inflight, pacers: map[string]*pacer{}}
}

func (p *pacing) of(account string) *pacer {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.pacers[account]; ok {
		return pc
	}
	pc := &pacer{}
	if p.rps > 0 {
		burst := int(math.Ceil(p.rps))
		pc.limit = rate.NewLimiter(rate.Limit(p.rps), max(1, burst-1))
		pc.bonus.Store(burst >= 2)
	}
	if p.inflight > 0 {
		pc.slots = make(chan struct{}, p.inflight)
	}
	p.pacers[account] = pc
	return pc
}

// paceTransport sends each request (each retry too) when its account's
// pacer allows: a slot in flight, held until the response body is closed,
// and a token of the rate.
type paceTransport struct {
	next  http.RoundTripper
	pacer *pacer
}

func (t *paceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.pacer == nil {
		return t.next.RoundTrip(req)
	}
	release, err := t.pacer.wait(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// wait takes a slot and then a token; the returned func frees the slot.
func (p *pacer) wait(ctx context.Context) (func(), error) {
	release := func() {}
	if p.slots != nil {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var once sync.Once
		release = func() { once.Do(func() { <-p.slots }) }
	}
	if p.limit != nil && !p.limit.Allow() {
		if p.bonus.CompareAndSwap(true, false) {
			// The cold start's third request (initialize,
			// notifications/initialized, the call) goes now, on a token
			// borrowed from the next second.
			p.limit.Reserve()
		} else if err := p.limit.Wait(ctx); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// releasingBody frees the pacer's slot when the body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
