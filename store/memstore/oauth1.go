package memstore

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
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

// nonceTable remembers used nonces under a 64-bit keyed hash of (consumer,
// nonce), with their expiry in unix nanoseconds. Its entries hold no
// pointers, so the garbage collector never scans them, and no client
// string is kept alive for the nonce's lifetime (a nonce parsed from a
// header would have kept the whole header). The hash's seed is random and
// never leaves the process, so a client cannot aim a nonce at another's:
// two different nonces share a hash with odds of 2⁻⁶⁴ per pair (about 10⁻¹³
// for a new nonce against a million remembered ones), and then the second
// is refused as a replay and its client signs again: it fails closed. It
// has a lock of its own, so that OAuth 1 requests do not queue behind the
// user table's readers.
type nonceTable struct {
	mu         sync.Mutex
	seed       maphash.Seed
	m          map[uint64]int64
	afterSweep int
}

// key hashes the consumer's length, the consumer and the nonce, so that
// no two (consumer, nonce) pairs write the same bytes.
func (t *nonceTable) key(consumer, nonce string) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(consumer)))
	h.Write(n[:])
	h.WriteString(consumer)
	h.WriteString(nonce)
	return h.Sum64()
}

// use records the nonce until expires and reports whether it was unused
// (or its earlier use has expired) at now.
func (t *nonceTable) use(consumer, nonce string, now, expires time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.seed = maphash.MakeSeed()
		t.m = map[uint64]int64{}
	}
	k, at := t.key(consumer, nonce), now.UnixNano()
	if until, seen := t.m[k]; seen && at < until {
		return false
	}
	if len(t.m) >= 1024 && len(t.m) >= 2*t.afterSweep {
		for k, until := range t.m {
			if at >= until {
				delete(t.m, k)
			}
		}
		t.afterSweep = len(t.m)
	}
	t.m[k] = expires.UnixNano()
	return true
}

// UseNonce implements stores.NonceStore.
func (s *Store) UseNonce(_ context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	s.mu.RLock()
	now := s.now()
	s.mu.RUnlock()
	return s.nonces.use(consumer, nonce, now, expires), nil
}

// UserFold implements stores.UserFolder: an exact match first, else the one
// user whose login equals login ignoring case (ErrNotFound when none, or
// when several differ only in case).
func (s *Store) UserFold(ctx context.Context, login string) (*stores.User, error) {
	if u, err := s.User(ctx, login); err == nil {
		return u, nil
	}
	var found *stores.User
	several := false
	s.users.Range(func(l, u any) bool {
		if strings.EqualFold(l.(string), login) {
			several = found != nil
			found = u.(*stores.User)
		}
		return !several
	})
	if several {
		return nil, stores.ErrNotFound
	}
	if found == nil {
		return nil, stores.ErrNotFound
	}
	return found, nil
}
