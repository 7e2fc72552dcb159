package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
)

var (
	_ stores.ConsumerStore = (*Store)(nil)
	_ stores.NonceStore    = (*Store)(nil)
	_ stores.UserFolder    = (*Store)(nil)
)

// Consumer implements stores.ConsumerStore.
func (s *Store) Consumer(_ context.Context, key string) (*stores.Consumer, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.consumers[key]
	if !ok {
		return nil, stores.ErrNotFound
	}
	return c, nil
}

// PutConsumer creates or replaces an OAuth 1.0a consumer; one that fails
// stores.Consumer.Validate is refused and nothing changes.
func (s *Store) PutConsumer(_ context.Context, c stores.Consumer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.Users = slices.Clone(c.Users)
	c.Methods = slices.Clone(c.Methods)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumers == nil {
		s.consumers = map[string]*stores.Consumer{}
	}
	s.consumers[c.Key] = &c
	return nil
}

type nonceKey struct{ consumer, nonce string }

// UseNonce implements stores.NonceStore.
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

// UserFold implements stores.UserFolder: an exact match first, else the one
// user whose login equals login ignoring case (ErrNotFound when none, or
// when several differ only in case).
func (s *Store) UserFold(ctx context.Context, login string) (*stores.User, error) {
	if u, err := s.User(ctx, login); err == nil {
		return u, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found *stores.User
	for l, u := range s.users {
		if strings.EqualFold(l, login) {
			if found != nil {
				return nil, stores.ErrNotFound
			}
			found = u
		}
	}
	if found == nil {
		return nil, stores.ErrNotFound
	}
	return found, nil
}
