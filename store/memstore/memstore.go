// Package memstore implements every gatehouse store interface in memory. It
// is safe for concurrent use and meant for tests and single-process services;
// its contents are lost when the process exits.
//
// Records returned by a Store are shared snapshots: callers must not modify
// them (stores replace a record on every change, never mutate it).
package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
)

// Store holds users, policy rules, tokens, sessions, OAuth consumers and
// clients, nonces, failure counters and revoked certificate serials in
// memory. The zero value is not
// usable; call New.
type Store struct {
	mu  sync.RWMutex
	now func() time.Time
	// users maps login → *stores.User. Writers hold mu (a change reads the
	// old record first); User reads it without a lock, so that parallel
	// requests do not contend on a read lock's shared counter.
	users sync.Map
	rules []auth.Rule

	tokens    *tokenTable
	tokenView atomic.Pointer[tokenTable] // tokens, for lock-free readers

	sessions           map[string]*stores.Session
	sessionsAfterSweep int
	sessionsOf         map[string]map[string]struct{} // login → its sessions' hashes

	revokedCerts map[string]bool

	clients   map[string]*stores.Client
	consumers map[string]*stores.Consumer
	nonces    nonceTable

	failures           map[failureKey]failureWindow
	failuresAfterSweep int
	maxFailureKeys     int
}

// New returns an empty Store.
func New() *Store {
	return &Store{now: time.Now}
}

// SetClock replaces the store's clock (tests inject one).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

var (
	_ stores.UserAdmin        = (*Store)(nil)
	_ stores.PasswordRehasher = (*Store)(nil)
	_ auth.PolicyStore        = (*Store)(nil)
)

// User implements stores.UserStore.
func (s *Store) User(_ context.Context, login string) (*stores.User, error) {
	if !stores.Storable(login) {
		return nil, stores.ErrNotFound
	}
	u, ok := s.lookupUser(login)
	if !ok {
		return nil, stores.ErrNotFound
	}
	return u, nil
}

// lookupUser is login's record (a change holds mu around it and its write).
func (s *Store) lookupUser(login string) (*stores.User, bool) {
	u, ok := s.users.Load(login)
	if !ok {
		return nil, false
	}
	return u.(*stores.User), true
}

// PutUser implements stores.UserAdmin.
func (s *Store) PutUser(_ context.Context, u stores.User) error {
	if !stores.Storable(u.Login()) {
		return stores.ErrInvalid
	}
	u.Groups = slices.Clone(u.Groups)
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Updated = s.now()
	old, ok := s.lookupUser(u.Login())
	if ok && !u.Updated.After(old.Updated) {
		u.Updated = old.Updated.Add(time.Nanosecond) // strictly newer, even with a frozen clock
	}
	switch {
	case !ok:
		u.ID, u.PasswordChanged = stores.NewUserID(), u.Updated
	case old.PasswordHash != u.PasswordHash:
		u.ID, u.PasswordChanged = old.ID, u.Updated
	default:
		u.ID, u.PasswordChanged = old.ID, old.PasswordChanged
	}
	s.users.Store(u.Login(), &u)
	return nil
}

// RehashPassword implements stores.PasswordRehasher.
func (s *Store) RehashPassword(_ context.Context, login, oldHash, newHash string) error {
	if !stores.Storable(login) {
		return stores.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.lookupUser(login)
	if !ok {
		return stores.ErrNotFound
	}
	if u.PasswordHash == oldHash {
		c := *u
		c.PasswordHash = newHash
		s.users.Store(login, &c)
	}
	return nil
}

// DeleteUser implements stores.UserAdmin: the user's tokens are revoked and
// its sessions ended.
func (s *Store) DeleteUser(_ context.Context, login string) error {
	if !stores.Storable(login) {
		return stores.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, loaded := s.users.LoadAndDelete(login); !loaded {
		return stores.ErrNotFound
	}
	now := s.now()
	if s.tokens != nil {
		for _, t := range s.tokens.byID {
			if t.User == login && t.Revoked.IsZero() {
				c := *t
				c.Revoked = now
				s.tokens.replaceLocked(&c)
			}
		}
	}
	for h := range s.sessionsOf[login] {
		s.deleteSession(h)
	}
	return nil
}

// ListUsers implements stores.UserAdmin, sorted by login.
func (s *Store) ListUsers(_ context.Context) ([]stores.User, error) {
	out := []stores.User{}
	s.users.Range(func(_, u any) bool {
		out = append(out, *u.(*stores.User))
		return true
	})
	slices.SortFunc(out, func(a, b stores.User) int { return cmp.Compare(a.Login(), b.Login()) })
	return out, nil
}

// Rules implements auth.PolicyStore.
func (s *Store) Rules(_ context.Context) ([]auth.Rule, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rules, nil
}

// SetRules validates and replaces the whole rule table. Nothing is changed
// when any rule is invalid.
func (s *Store) SetRules(_ context.Context, rules []auth.Rule) error {
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	rules = slices.Clone(rules)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = rules
	return nil
}
