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
	_ stores.ConsumerStore = (*memStore)(nil)
	_ stores.NonceStore    = (*memStore)(nil)
	_ stores.UserFolder    = (*memStore)(nil)
)

// Consumer implements stores.ConsumerStore.
func (s *memStore) Consumer(_ context.Context, key string) (*stores.Consumer, error) {
	if !stores.Storable(key) {
		return nil, stores.ErrNotFound
	}
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
func (s *memStore) PutConsumer(_ context.Context, c stores.Consumer) error {
	if !stores.Storable(c.Key) {
		return stores.ErrInvalid
	}
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
// nonce), with their expiry in unix nanoseconds, in a flat open-addressing
// table: a nonce's check and its record are one probe run in one array
// (usually one cache line), where a Go map walked a directory, a table and
// a group. Its slots hold no pointers, so the garbage collector never scans
// them, and no client string is kept alive for the nonce's lifetime (a
// nonce parsed from a header would have kept the whole header). An expired
// slot is taken over by the next new nonce whose probe run passes it, and
// the table is rebuilt from its live slots when it fills, so it stays
// bounded by what is live without a sweep.
//
// The hash's seed is random and never leaves the process, so a client
// cannot aim a nonce at another's: two different nonces share a hash with
// odds of 2⁻⁶⁴ per pair (about 10⁻¹³ for a new nonce against a million
// remembered ones), and then the second is refused as a replay and its
// client signs again: it fails closed. It has a lock of its own, so that
// OAuth 1 requests do not queue behind the user table's readers.
type nonceTable struct {
	mu    sync.Mutex
	seed  maphash.Seed
	slots []nonceSlot // a power of two of them; key 0 marks a free slot
	used  int         // slots with a key, expired or not
}

type nonceSlot struct {
	key   uint64 // never 0 for a nonce: see nonceTable.key
	until int64  // unix nanoseconds
}

// minNonceSlots is the table's least size; it is rebuilt when it is
// maxNonceLoad full, into a size that makes it at most half that.
const (
	minNonceSlots = 1024
	maxNonceLoad  = 0.7
)

// key hashes the consumer's length, the consumer and the nonce, so that
// no two (consumer, nonce) pairs write the same bytes. A hash of 0 (which
// marks a free slot) counts as 1.
func (t *nonceTable) key(consumer, nonce string) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(consumer)))
	h.Write(n[:])
	h.WriteString(consumer)
	h.WriteString(nonce)
	return max(h.Sum64(), 1)
}

// use records the nonce until expires and reports whether it was unused
// (or its earlier use has expired) at now.
func (t *nonceTable) use(consumer, nonce string, now, expires time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
		t.slots = make([]nonceSlot, minNonceSlots)
	}
	k, at, until := t.key(consumer, nonce), now.UnixNano(), expires.UnixNano()
	mask := uint64(len(t.slots) - 1)
	reuse := -1 // the first expired slot of the run
	i := k & mask
	for ; t.slots[i].key != 0; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == k {
			if at < s.until {
				return false
			}
			s.until = until
			return true
		}
		if reuse < 0 && at >= s.until {
			reuse = int(i)
		}
	}
	if reuse >= 0 {
		t.slots[reuse] = nonceSlot{k, until}
		return true
	}
	t.slots[i] = nonceSlot{k, until}
	if t.used++; float64(t.used) >= maxNonceLoad*float64(len(t.slots)) {
		t.rebuild(at)
	}
	return true
}

// rebuild moves the slots still live at "at" into a table of the size
// they need (growing or shrinking it).
func (t *nonceTable) rebuild(at int64) {
	live := 0
	for _, s := range t.slots {
		if s.key != 0 && at < s.until {
			live++
		}
	}
	size := minNonceSlots
	for float64(live) > maxNonceLoad/2*float64(size) {
		size *= 2
	}
	old := t.slots
	t.slots, t.used = make([]nonceSlot, size), live
	mask := uint64(size - 1)
	for _, s := range old {
		if s.key == 0 || at >= s.until {
			continue
		}
		i := s.key & mask
		for t.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// UseNonce implements stores.NonceStore.
func (s *memStore) UseNonce(_ context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	if !stores.Storable(consumer, nonce) {
		return false, stores.ErrInvalid
	}
	s.mu.RLock()
	now := s.now()
	s.mu.RUnlock()
	return s.nonces.use(consumer, nonce, now, expires), nil
}

// UserFold implements stores.UserFolder: an exact match first, else the one
// user whose login equals login ignoring case (ErrNotFound when none, or
// when several differ only in case).
func (s *memStore) UserFold(ctx context.Context, login string) (*stores.User, error) {
	if !stores.Storable(login) {
		return nil, stores.ErrNotFound
	}
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
