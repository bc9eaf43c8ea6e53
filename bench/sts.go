package bench

import (
	"context"
	"time"

	"github.com/centralops/aws-mcp-multi-account/auth"
)

// STSResult is the AssumeRole throughput of the credential store against
// the fake STS alone: a cold fan-out's first step, measured apart so that
// the fake is never the unseen reason a cold run is slow.
type STSResult struct {
	N   int  `json:"n"`
	TLS bool `json:"tls,omitempty"`
	// InFlight is the store's bound on AssumeRole calls at once.
	InFlight int     `json:"in_flight"`
	WallS    float64 `json:"wall_s"`
	// PerSecond is N / WallS.
	PerSecond float64 `json:"per_second"`
}

// MeasureSTS assumes the role in every account of the fakes through the
// core's credential store (app.Build's, bounded to
// auth.DefaultMaxAssumeRoles in flight), every account asking at once.
func MeasureSTS(ctx context.Context, fakes Fakes) (*STSResult, error) {
	accts := fakes.Accounts()
	core, err := NewCore(fakes.URLs(), CoreOptions{Accounts: accts})
	if err != nil {
		return nil, err
	}
	defer core.Close()
	start := time.Now()
	if err := everyAccountAtOnce(accts, func(i int) error {
		_, err := core.Store.ForRole(auth.RoleTarget{AccountID: accts[i].ID}).Retrieve(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	wall := time.Since(start).Seconds()
	return &STSResult{N: len(accts), TLS: fakes.URLs().CACert != "", InFlight: auth.DefaultMaxAssumeRoles,
		WallS: wall, PerSecond: float64(len(accts)) / wall}, nil
}
