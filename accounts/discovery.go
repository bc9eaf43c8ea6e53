package accounts

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// discovery keeps the last result of a source that discovers its accounts
// through an API (Organizations, an IAM Identity Center portal): reused
// for ttl, found again by one caller at a time (the others wait for its
// result), and never replaced by a failure: when a discovery fails, the
// previous result is used if there is one, and the next call tries again.
type discovery struct {
	ttl  time.Duration
	log  *slog.Logger
	name string // the source, in the log

	mu       sync.Mutex
	accounts []Account
	warnings []string
	at       time.Time
}

// get returns the accounts, running discover when there are none yet or
// they are older than the TTL.
func (d *discovery) get(ctx context.Context, discover func(context.Context) ([]Account, []string, error)) ([]Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.accounts != nil && time.Since(d.at) < d.ttl {
		return d.accounts, nil
	}
	accts, warnings, err := discover(ctx)
	if err != nil {
		if d.accounts != nil {
			d.log.Warn(d.name+" discovery failed; using the previous result", "error", err, "age", time.Since(d.at).Round(time.Second))
			return d.accounts, nil
		}
		return nil, err
	}
	d.accounts, d.warnings, d.at = accts, warnings, time.Now()
	return accts, nil
}

// lastWarnings returns the warnings of the last discovery that succeeded.
func (d *discovery) lastWarnings() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.warnings...)
}
