package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var (
	_ auth.ConsumerStore = (*Store)(nil)
	_ auth.NonceStore    = (*Store)(nil)
	_ auth.UserFolder    = (*Store)(nil)
)

// Consumer implements auth.ConsumerStore.
func (s *Store) Consumer(_ context.Context, key string) (*auth.Consumer, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.consumers[key]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return c, nil
}

// PutConsumer creates or replaces an OAuth 1.0a consumer; one that fails
// auth.Consumer.Validate is refused and nothing changes.
func (s *Store) PutConsumer(_ context.Context, c auth.Consumer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.Users = slices.Clone(c.Users)
	c.Methods = slices.Clone(c.Methods)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumers == nil {
		s.consumers = map[string]*auth.Consumer{}
	}
	s.consumers[c.Key] = &c
	return nil
}

type nonceKey struct{ consumer, nonce string }

// UseNonce implements auth.NonceStore.
func (s *Store) UseNonce(_ context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.nonces == nil {
		s.nonces = map[nonceKey]time.Time{}
	}
	k := nonceKey{consumer, nonce}
	if until, seen := s.nonces[k]; seen && now.Before(until) {
		return false, nil
	}
	if len(s.nonces) >= 1024 && len(s.nonces) >= 2*s.noncesAfterSweep {
		for k, until := range s.nonces {
			if !now.Before(until) {
				delete(s.nonces, k)
			}
		}
		s.noncesAfterSweep = len(s.nonces)
	}
	s.nonces[k] = expires
	return true, nil
}

// UserFold implements auth.UserFolder: an exact match first, else the one
// user whose login equals login ignoring case (ErrNotFound when none, or
// when several differ only in case).
func (s *Store) UserFold(ctx context.Context, login string) (*auth.User, error) {
	if u, err := s.User(ctx, login); err == nil {
		return u, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found *auth.User
	for l, u := range s.users {
		if strings.EqualFold(l, login) {
			if found != nil {
				return nil, auth.ErrNotFound
			}
			found = u
		}
	}
	if found == nil {
		return nil, auth.ErrNotFound
	}
	return found, nil
}
