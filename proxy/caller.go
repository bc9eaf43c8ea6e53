package proxy

import (
	"context"
	"fmt"

	"github.com/centralops/aws-mcp-multi-account/accounts"
)

// Caller is who calls the tools of a shared server (serve --http): an
// identity and the accounts it may reach. A process serving one user has
// no Caller in its contexts and reaches every configured account.
type Caller struct {
	// ID identifies the caller uniquely (issuer and subject): it owns the
	// results it makes and keys the credentials made for it.
	ID string
	// Subject and Email name the caller in audit lines.
	Subject, Email string
	// SessionName replaces {caller} in the RoleSessionName template and is
	// the SourceIdentity when one is configured ("" for neither).
	SessionName    string
	SourceIdentity string
	// Scope decides which accounts the caller reaches and how; nil reaches
	// none.
	Scope Scope
}

// Scope is what a caller may reach.
type Scope interface {
	// Access returns the caller's access to an account, and false when the
	// account is out of reach.
	Access(a accounts.Account) (Access, bool)
}

// Access is a caller's mode in one account.
type Access struct {
	// ReadOnly refuses tools that are not read-only and passes the
	// read-only session policy on AssumeRole, as --read-only does.
	ReadOnly bool
	// AllowWriteFanout lets query_all run tools that are not read-only.
	AllowWriteFanout bool
	// AllowChanges lets change_all change the account (never when ReadOnly).
	AllowChanges bool
}

type callerKey struct{}

// WithCaller returns a context that carries the caller of a tool call.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller a context carries, or nil.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// ownerOf is the owner of the results a call makes: the caller's id, or
// "" in a single-user process.
func ownerOf(ctx context.Context) string {
	if c := CallerFrom(ctx); c != nil {
		return c.ID
	}
	return ""
}

// access returns the context's caller's access to an account; every
// account is reachable, as configured, without a caller.
func (s *Service) access(ctx context.Context, a accounts.Account) (Access, bool) {
	c := CallerFrom(ctx)
	if c == nil {
		return Access{ReadOnly: s.cfg.ReadOnly, AllowWriteFanout: s.cfg.AllowWriteFanout, AllowChanges: s.cfg.changesAllowed()}, true
	}
	if c.Scope == nil {
		return Access{}, false
	}
	acc, ok := c.Scope.Access(a)
	if !ok {
		return Access{}, false
	}
	// The process-wide modes bound every caller's: --read-only makes every
	// access read-only, --allow-write-fanout lets every caller fan out writes.
	acc.ReadOnly = acc.ReadOnly || s.cfg.ReadOnly
	acc.AllowWriteFanout = acc.AllowWriteFanout || s.cfg.AllowWriteFanout
	// Only the access policy lets a caller change an account, and only
	// where the caller's access is not read-only.
	acc.AllowChanges = acc.AllowChanges && !acc.ReadOnly && s.cfg.AllowChanges
	return acc, true
}

// inScope keeps the accounts the context's caller may reach.
func (s *Service) inScope(ctx context.Context, all []accounts.Account) ([]accounts.Account, error) {
	if CallerFrom(ctx) == nil {
		return all, nil
	}
	out := make([]accounts.Account, 0, len(all))
	for _, a := range all {
		if _, ok := s.access(ctx, a); ok {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoAccess
	}
	return out, nil
}

// lookup returns a configured account the caller may reach. One out of
// reach is the same unknown-account error as one not configured, so the
// answer tells nothing about accounts the caller cannot see.
func (s *Service) lookup(ctx context.Context, id string) (accounts.Account, error) {
	a, err := s.dir.Lookup(ctx, id)
	if err != nil {
		return a, err
	}
	if _, ok := s.access(ctx, a); !ok {
		return accounts.Account{}, fmt.Errorf("%w: %s is not one of the configured accounts (see list_accounts)", accounts.ErrUnknownAccount, id)
	}
	return a, nil
}

// mode is how a call may act in an account.
type mode struct {
	readOnly    bool
	readOnlyWhy string
}

// modeFor returns the read-only mode of a call in an account.
func (s *Service) modeFor(ctx context.Context, a accounts.Account) mode {
	acc, _ := s.access(ctx, a)
	why := "read-only mode (" + s.cfg.setting("read-only") + ") is on"
	if !s.cfg.ReadOnly && acc.ReadOnly {
		why = "the access policy gives this caller read-only access to account " + a.ID
	}
	return mode{readOnly: acc.ReadOnly, readOnlyWhy: why}
}
