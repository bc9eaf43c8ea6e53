package proxy

import (
	"time"
)

// Defaults of Config.
const (
	// DefaultConcurrency is automatic: a fan-out starts every target at
	// once, held back by each account's quota pacing and by the process's
	// bound on upstream calls in flight, not by a fixed width. The AWS MCP
	// Server's quotas are per account, so N accounts have N budgets, and a
	// script takes 10-15 s: a fixed width of 16 made 1,000 accounts take
	// 63 rounds of a script.
	DefaultConcurrency    = 0
	DefaultMaxConcurrency = 128
	DefaultTimeout        = 120 * time.Second
	DefaultRegion         = "us-east-1"
	DefaultReplyWithin    = 45 * time.Second
	// DefaultCallerFanouts is the team server's CallerFanouts.
	DefaultCallerFanouts = 2
)

// Config tunes the Service.
type Config struct {
	// DefaultRegion is the target region of a query that names none.
	DefaultRegion string
	// Concurrency bounds the accounts queried at once by QueryAll; 0 is
	// automatic (every target at once).
	Concurrency int
	// Timeout bounds one account's call (credentials, session, tool call).
	Timeout time.Duration
	// ReadOnly refuses tools that are not read-only in Query and QueryAll.
	ReadOnly bool
	// AllowWriteFanout lets QueryAll run tools that are not read-only.
	AllowWriteFanout bool
	// AllowSecretFanout lets QueryAll run reads whose answer is a secret
	// (guard.SecretReads).
	AllowSecretFanout bool
	// MaxConcurrency bounds the workers a fan-out with a Concurrency may
	// grow to when its accounts would not all answer before its deadline,
	// and a change's rollout concurrency.
	MaxConcurrency int
	// ResultBudget bounds the text of a tool result (results.DefaultBudget
	// when 0); ResultBudgetMax is the ceiling a call's max_bytes may ask for.
	ResultBudget    int
	ResultBudgetMax int
	// ReplyWithin is when the query_all tool answers with the accounts that
	// have finished, leaving the rest pending in the background; 0 waits
	// for every account.
	ReplyWithin time.Duration
	// NotKept says why answers are not kept when there is no result store
	// (the Lambda bridge without a bucket).
	NotKept string
	// Settings names a setting (by its flag name, such as "timeout") the
	// way the front door takes it, for texts that tell a user what to
	// change: "--timeout" for the command line,
	// "AWS_MCP_TIMEOUT" for the Lambda bridge. nil, or "", names it
	// plainly ("the timeout setting").
	Settings func(setting string) string
	// CallerFanouts bounds the fan-outs one caller of a shared server runs
	// at once (until every account has answered); more wait their turn
	// within their reply deadline. 0 is no bound.
	CallerFanouts int
	// AllowChanges offers change_all and apply_change (never with ReadOnly):
	// to the one user of a process, or to the callers whose access allows
	// changes.
	AllowChanges bool
	// LocalUser names the one user of a process without callers (the
	// stdio server, the CLI) in the audit lines of changes.
	LocalUser string
	// NoElicitation never asks the human through the client (a stateless
	// server, which cannot route the answer back to the call).
	NoElicitation bool
}

// changesAllowed reports whether change_all and apply_change are offered:
// never in read-only mode.
func (c Config) changesAllowed() bool { return c.AllowChanges && !c.ReadOnly }

// setting names a setting for a text that tells a user what to change.
func (c Config) setting(name string) string {
	if c.Settings != nil {
		if v := c.Settings(name); v != "" {
			return v
		}
	}
	return "the " + name + " setting"
}
