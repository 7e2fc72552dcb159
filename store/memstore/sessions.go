package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var _ auth.SessionStore = (*Store)(nil)

// CreateSession implements auth.SessionStore.
func (s *Store) CreateSession(_ context.Context, sess auth.Session) error {
	sess.Scopes = slices.Clone(sess.Scopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		s.sessions = map[string]*auth.Session{}
	}
	if _, dup := s.sessions[sess.Hash]; dup {
		return auth.ErrConflict
	}
	now := s.now()
	if len(s.sessions) >= 1024 && len(s.sessions) >= 2*s.sessionsAfterSweep {
		for h, o := range s.sessions {
			if !now.Before(o.Expires) || !now.Before(o.LastSeen.Add(o.IdleTimeout)) {
				delete(s.sessions, h)
			}
		}
		s.sessionsAfterSweep = len(s.sessions)
	}
	s.sessions[sess.Hash] = &sess
	return nil
}

// SessionByHash implements auth.SessionStore.
func (s *Store) SessionByHash(_ context.Context, hash string) (*auth.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[hash]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return sess, nil
}

// TouchSession implements auth.SessionStore.
func (s *Store) TouchSession(_ context.Context, hash string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[hash]
	if !ok {
		return auth.ErrNotFound
	}
	if at.After(sess.LastSeen) {
		c := *sess
		c.LastSeen = at
		s.sessions[hash] = &c
	}
	return nil
}

// DeleteSession implements auth.SessionStore.
func (s *Store) DeleteSession(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, hash)
	return nil
}
