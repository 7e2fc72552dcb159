package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
)

var _ stores.SessionStore = (*Store)(nil)

// CreateSession implements stores.SessionStore.
func (s *Store) CreateSession(_ context.Context, sess stores.Session) error {
	sess.Scopes = slices.Clone(sess.Scopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		s.sessions = map[string]*stores.Session{}
	}
	if _, dup := s.sessions[sess.Hash]; dup {
		return stores.ErrConflict
	}
	now := s.now()
	if len(s.sessions) >= 1024 && len(s.sessions) >= 2*s.sessionsAfterSweep {
		for h, o := range s.sessions {
			if !o.Active(now) {
				delete(s.sessions, h)
			}
		}
		s.sessionsAfterSweep = len(s.sessions)
	}
	s.sessions[sess.Hash] = &sess
	return nil
}

// SessionByHash implements stores.SessionStore.
func (s *Store) SessionByHash(_ context.Context, hash string) (*stores.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[hash]
	if !ok {
		return nil, stores.ErrNotFound
	}
	return sess, nil
}

// TouchSession implements stores.SessionStore.
func (s *Store) TouchSession(_ context.Context, hash string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[hash]
	if !ok {
		return stores.ErrNotFound
	}
	if at.After(sess.LastSeen) {
		c := *sess
		c.LastSeen = at
		s.sessions[hash] = &c
	}
	return nil
}

// DeleteSession implements stores.SessionStore.
func (s *Store) DeleteSession(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, hash)
	return nil
}
