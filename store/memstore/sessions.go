package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
)

var _ stores.SessionStore = (*memStore)(nil)

// CreateSession implements stores.SessionStore.
func (s *memStore) CreateSession(_ context.Context, sess stores.Session) error {
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
				s.deleteSession(h)
			}
		}
		s.sessionsAfterSweep = len(s.sessions)
	}
	s.sessions[sess.Hash] = &sess
	if s.sessionsOf == nil {
		s.sessionsOf = map[string]map[string]struct{}{}
	}
	if s.sessionsOf[sess.User] == nil {
		s.sessionsOf[sess.User] = map[string]struct{}{}
	}
	s.sessionsOf[sess.User][sess.Hash] = struct{}{}
	return nil
}

// CapSessions implements stores.SessionCapper.
func (s *memStore) CapSessions(_ context.Context, login string, keep int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hashes := s.sessionsOf[login]
	if len(hashes) <= keep {
		return 0, nil
	}
	mine := make([]*stores.Session, 0, len(hashes))
	for h := range hashes {
		mine = append(mine, s.sessions[h])
	}
	slices.SortFunc(mine, func(a, b *stores.Session) int { // newest first
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.Hash, a.Hash)
	})
	for _, x := range mine[max(keep, 0):] {
		s.deleteSession(x.Hash)
	}
	return len(mine) - max(keep, 0), nil
}

// deleteSession removes a session and its place in sessionsOf; s.mu is held.
func (s *memStore) deleteSession(hash string) {
	x, ok := s.sessions[hash]
	if !ok {
		return
	}
	delete(s.sessions, hash)
	if set := s.sessionsOf[x.User]; set != nil {
		delete(set, hash)
		if len(set) == 0 {
			delete(s.sessionsOf, x.User)
		}
	}
}

// SessionByHash implements stores.SessionStore.
func (s *memStore) SessionByHash(_ context.Context, hash string) (*stores.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[hash]
	if !ok {
		return nil, stores.ErrNotFound
	}
	return sess, nil
}

// TouchSession implements stores.SessionStore.
func (s *memStore) TouchSession(_ context.Context, hash string, at time.Time) error {
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
func (s *memStore) DeleteSession(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteSession(hash)
	return nil
}
