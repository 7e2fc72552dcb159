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
	"crypto/rand"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
)

// Store holds users, policy rules, tokens, sessions, OAuth consumers and
// clients, nonces, failure counters and revoked certificate serials in
// memory: every store interface of auth/stores (whose documentation its
// methods follow), the policy rules of auth.PolicyStore, and a clock.
type Store interface {
	stores.UserAdmin
	stores.UserFolder
	stores.PasswordRehasher
	stores.TokenAdmin
	stores.SessionStore
	stores.SessionCapper
	stores.ConsumerAdmin
	stores.NonceStore
	stores.FailureCounter
	stores.CertAdmin
	stores.ClientAdmin
	auth.PolicyStore
	// SetRules replaces the policy rules (each must Validate).
	SetRules(ctx context.Context, rules []auth.Rule) error
	// SetClock replaces the store's clock (tests inject one).
	SetClock(now func() time.Time)
	// SetMaxFailureKeys bounds the failure counters kept (0 =
	// defaultMaxFailureKeys); FailureKeys is how many are kept now.
	SetMaxFailureKeys(n int)
	FailureKeys() int
}

// memStore is the Store.
type memStore struct {
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
func New() Store {
	return &memStore{now: time.Now}
}

// SetClock replaces the store's clock (tests inject one).
func (s *memStore) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

var (
	_ stores.UserAdmin        = (*memStore)(nil)
	_ stores.PasswordRehasher = (*memStore)(nil)
	_ auth.PolicyStore        = (*memStore)(nil)
)

// User implements stores.UserStore.
func (s *memStore) User(_ context.Context, login string) (*stores.User, error) {
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
func (s *memStore) lookupUser(login string) (*stores.User, bool) {
	u, ok := s.users.Load(login)
	if !ok {
		return nil, false
	}
	return u.(*stores.User), true
}

// PutUser implements stores.UserAdmin.
func (s *memStore) PutUser(_ context.Context, u stores.User) error {
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
		u.ID, u.PasswordChanged = rand.Text(), u.Updated
	case old.PasswordHash != u.PasswordHash:
		u.ID, u.PasswordChanged = old.ID, u.Updated
	default:
		u.ID, u.PasswordChanged = old.ID, old.PasswordChanged
	}
	s.users.Store(u.Login(), &u)
	return nil
}

// RehashPassword implements stores.PasswordRehasher.
func (s *memStore) RehashPassword(_ context.Context, login, oldHash, newHash string) error {
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
func (s *memStore) DeleteUser(_ context.Context, login string) error {
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
func (s *memStore) ListUsers(_ context.Context) ([]stores.User, error) {
	out := []stores.User{}
	s.users.Range(func(_, u any) bool {
		out = append(out, *u.(*stores.User))
		return true
	})
	slices.SortFunc(out, func(a, b stores.User) int { return cmp.Compare(a.Login(), b.Login()) })
	return out, nil
}

// Rules implements auth.PolicyStore: the caller's own copy, to sort or
// delete in as `gatehouse policy` does with what its store returns.
func (s *memStore) Rules(_ context.Context) ([]auth.Rule, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slices.Clone(s.rules)
	for i := range out {
		out[i].Methods = slices.Clone(out[i].Methods)
	}
	return out, nil
}

// SharedRules is Rules without the copy, for auth.RuleTable, which only
// reads: SetRules replaces the table and never changes one it lent.
func (s *memStore) SharedRules(_ context.Context) ([]auth.Rule, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clip(s.rules), nil
}

// SetRules validates and replaces the whole rule table. Nothing is changed
// when any rule is invalid.
func (s *memStore) SetRules(_ context.Context, rules []auth.Rule) error {
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
