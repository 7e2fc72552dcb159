package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
)

var _ stores.TokenAdmin = (*memStore)(nil)

type tokenTable struct {
	byID     map[string]*stores.Token
	patNames map[[2]string]bool // (user, name) of every PAT ever created
	// byHash maps hash → *stores.Token. Writers hold the store's lock;
	// TokenByHash, every token request's lookup, reads it without one.
	byHash sync.Map
}

func (s *memStore) tokensLocked() *tokenTable {
	if s.tokens == nil {
		s.tokens = &tokenTable{byID: map[string]*stores.Token{}, patNames: map[[2]string]bool{}}
		s.tokenView.Store(s.tokens)
	}
	return s.tokens
}

// TokenByHash implements stores.TokenStore.
func (s *memStore) TokenByHash(_ context.Context, hash string) (*stores.Token, error) {
	tt := s.tokenView.Load()
	if tt == nil || hash == "" {
		return nil, stores.ErrNotFound
	}
	t, ok := tt.byHash.Load(hash)
	if !ok {
		return nil, stores.ErrNotFound
	}
	return t.(*stores.Token), nil
}

// TokenByID implements stores.TokenStore.
func (s *memStore) TokenByID(_ context.Context, id string) (*stores.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tokens == nil {
		return nil, stores.ErrNotFound
	}
	t, ok := s.tokens.byID[id]
	if !ok {
		return nil, stores.ErrNotFound
	}
	return t, nil
}

// CreateToken implements stores.TokenAdmin.
func (s *memStore) CreateToken(_ context.Context, t stores.Token) error {
	if !stores.Storable(t.User, t.Name) {
		return stores.ErrInvalid
	}
	t.Scopes = slices.Clone(t.Scopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := s.tokensLocked()
	if _, dup := tt.byID[t.ID]; dup || t.ID == "" {
		return stores.ErrConflict
	}
	if _, dup := tt.byHash.Load(t.Hash); dup && t.Hash != "" {
		return stores.ErrConflict
	}
	if t.Kind == stores.TokenPAT {
		if tt.patNames[[2]string{t.User, t.Name}] {
			return stores.ErrConflict
		}
		tt.patNames[[2]string{t.User, t.Name}] = true
	}
	tt.byID[t.ID] = &t
	if t.Hash != "" {
		tt.byHash.Store(t.Hash, &t)
	}
	return nil
}

// ListTokens implements stores.TokenAdmin.
func (s *memStore) ListTokens(_ context.Context, user, kind string) ([]stores.Token, error) {
	if !stores.Storable(user, kind) {
		return nil, nil
	}
	s.mu.RLock()
	var out []stores.Token
	if s.tokens != nil {
		for _, t := range s.tokens.byID {
			if t.User == user && (kind == "" || t.Kind == kind) {
				out = append(out, *t)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b stores.Token) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// replaceLocked swaps in a changed copy, so that snapshots handed out are
// never mutated.
func (tt *tokenTable) replaceLocked(t *stores.Token) {
	tt.byID[t.ID] = t
	if t.Hash != "" {
		tt.byHash.Store(t.Hash, t)
	}
}

// RevokeToken implements stores.TokenAdmin.
func (s *memStore) RevokeToken(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := s.tokensLocked()
	t, ok := tt.byID[id]
	if !ok {
		return stores.ErrNotFound
	}
	if t.Revoked.IsZero() {
		c := *t
		c.Revoked = at
		tt.replaceLocked(&c)
	}
	return nil
}

// ConsumeToken implements stores.TokenAdmin.
func (s *memStore) ConsumeToken(_ context.Context, id string, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := s.tokensLocked()
	t, ok := tt.byID[id]
	if !ok {
		return false, stores.ErrNotFound
	}
	if !t.Revoked.IsZero() {
		return false, nil
	}
	c := *t
	c.Revoked = at
	tt.replaceLocked(&c)
	return true, nil
}

// TouchTokens implements stores.TokenAdmin.
func (s *memStore) TouchTokens(_ context.Context, used map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := s.tokensLocked()
	for id, at := range used {
		if t, ok := tt.byID[id]; ok && at.After(t.LastUsed) {
			c := *t
			c.LastUsed = at
			tt.replaceLocked(&c)
		}
	}
	return nil
}

// DeleteExpiredTokens implements stores.TokenAdmin.
func (s *memStore) DeleteExpiredTokens(_ context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := s.tokensLocked()
	n := 0
	for id, t := range tt.byID {
		if !t.Expires.IsZero() && t.Expires.Before(before) {
			delete(tt.byID, id)
			tt.byHash.Delete(t.Hash)
			n++
		}
	}
	return n, nil
}

// RevokeFamily implements stores.TokenAdmin.
func (s *memStore) RevokeFamily(_ context.Context, family string, at time.Time) (int, error) {
	if family == "" {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := s.tokensLocked()
	n := 0
	for _, t := range tt.byID {
		if t.Family == family && t.Revoked.IsZero() {
			c := *t
			c.Revoked = at
			tt.replaceLocked(&c)
			n++
		}
	}
	return n, nil
}
