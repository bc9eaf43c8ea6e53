package results

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of a result store.
const (
	DefaultStoreBytes = 256 << 20
	DefaultTTL        = 30 * time.Minute
)

// Store keeps fan-out answers under a result id so get_result can read
// them later without calling AWS again. Results belong to an owner (the
// caller who made them; "" for a single-user process): another owner's
// lookup is the same as one of an id that never existed.
type Store interface {
	// Create keeps a new result: the answer with its entries as they are
	// now (pending ones are Put later). It returns the result id.
	Create(ctx context.Context, owner string, a *Answer) (string, error)
	// Put records the final entry of target i (its index in Results);
	// ErrNotKept says the store recorded its outcome but not its data.
	Put(ctx context.Context, owner, id string, i int, e Entry) error
	// Finish records the final summary once every entry is in.
	Finish(ctx context.Context, owner, id string, s Summary) error
	// Get returns the stored answer; without withData its entries may lack
	// their Data (a store that keeps data apart reads it only when asked).
	Get(ctx context.Context, owner, id string, withData bool) (*Record, error)
	// Entry returns target i's entry with its data.
	Entry(ctx context.Context, owner, id string, i int) (Entry, error)
}

// Record is a stored result.
type Record struct {
	ID      string
	Created time.Time
	Answer  Answer
}

// Find returns the index of the entry of account (and region, when not
// ""), or an error naming the regions to choose from.
func (r *Record) Find(account, region string) (int, error) {
	var regions []string
	found := -1
	for i, e := range r.Answer.Results {
		if e.AccountID != account {
			continue
		}
		regions = append(regions, e.Region)
		if region == "" && found < 0 || e.Region == region {
			found = i
		}
	}
	switch {
	case len(regions) == 0:
		return 0, fmt.Errorf("result %s has no answer of account %s (it covers %s)", r.ID, account, Plural(len(r.Answer.Results), "account-region pair"))
	case region != "" && (found < 0 || r.Answer.Results[found].Region != region):
		return 0, fmt.Errorf("result %s has no answer of account %s in region %s (it has %s)", r.ID, account, region, strings.Join(regions, ", "))
	case region == "" && len(regions) > 1:
		return 0, fmt.Errorf("result %s has answers of account %s in several regions (%s): give region", r.ID, account, strings.Join(regions, ", "))
	}
	return found, nil
}

// ErrNotFound is wrapped by every failed lookup of a result.
var ErrNotFound = errors.New("result not found")

// LookupError says why a result id cannot be read.
type LookupError struct {
	ID string
	// Reason is "unknown", "expired" or "evicted".
	Reason string
	// TTL and MaxBytes describe the store, for the advice.
	TTL      time.Duration
	MaxBytes int64
}

// Error explains the failure and what to do.
func (e *LookupError) Error() string {
	switch e.Reason {
	case "expired":
		return fmt.Sprintf("result %q has expired (results are kept for %s); run the query again", e.ID, e.TTL)
	case "evicted":
		return fmt.Sprintf("result %q was dropped to make room for newer results (the store keeps at most %s); run the query again", e.ID, Size(int(e.MaxBytes)))
	}
	return fmt.Sprintf("result %q is unknown: result ids come from the answers of query and query_all of this session's caller (kept for %s); run the query again", e.ID, e.TTL)
}

// Unwrap returns ErrNotFound.
func (e *LookupError) Unwrap() error { return ErrNotFound }

// ErrNotKept is returned for an entry whose data the store could not keep.
var ErrNotKept = errors.New("the answer was not kept: it did not fit the result store (the result-store-bytes setting); run the query again, narrower")

// NewID returns a new result id: "r-" and 20 random base32 characters.
func NewID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("results: no randomness: %v", err))
	}
	return "r-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// ValidID reports whether id has the shape NewID gives.
func ValidID(id string) bool {
	if len(id) != 22 || !strings.HasPrefix(id, "r-") {
		return false
	}
	for _, c := range id[2:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
