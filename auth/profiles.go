package auth

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ProfileStore hands out the credentials of local AWS config profiles,
// loading each profile once. It is safe for concurrent use.
type ProfileStore struct {
	load func(ctx context.Context, profile string) (aws.CredentialsProvider, error)

	mu        sync.Mutex
	providers map[string]aws.CredentialsProvider
}

// NewProfileStore returns a store that loads a profile's credentials with
// load (the SDK's shared-config loading, in the entrypoint).
func NewProfileStore(load func(ctx context.Context, profile string) (aws.CredentialsProvider, error)) *ProfileStore {
	return &ProfileStore{load: load, providers: map[string]aws.CredentialsProvider{}}
}

// ForProfile returns the profile's credentials provider.
func (s *ProfileStore) ForProfile(ctx context.Context, profile string) (aws.CredentialsProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.providers[profile]; ok {
		return p, nil
	}
	p, err := s.load(ctx, profile)
	if err != nil {
		return nil, fmt.Errorf("load profile %s: %w", profile, err)
	}
	if _, cached := p.(*aws.CredentialsCache); !cached {
		p = aws.NewCredentialsCache(p)
	}
	s.providers[profile] = p
	return p, nil
}
