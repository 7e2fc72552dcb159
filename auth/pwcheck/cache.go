package pwcheck

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/envx"

	"golang.org/x/sync/singleflight"
)

// Cache remembers successful password verifications so that a slow hash
// (argon2id, bcrypt) is computed once per TTL instead of once per request.
//
// Entries are keyed by HMAC-SHA256, under a random per-process key, of the
// login and the password: neither is kept in memory in the clear, and the map
// is useless without the key. Every hit still fetches the user from the
// store, and the entry is dropped when the user was changed (password,
// groups, disabled flag: User.Updated) or disabled since it was made,
// so a password change or a disable takes effect on the next request. A
// failed verification is never cached.
//
// A busy credential never goes cold: a hit in the second half of an
// entry's TTL extends it by another TTL, up to MaxAge after the password
// was last really checked (defaultCacheMaxAge; see CacheConfig). Within a
// TTL of that ceiling, a hit starts one check of the password in the
// background and is answered from the cache at once; when the check
// succeeds the entry starts afresh. So a credential in use is re-checked
// once per MaxAge and no request ever waits for it; only an entry left
// idle past its TTL costs the next request a hash.
//
// Concurrent misses of the very same login and password are collapsed into
// one check: the first runs (and is counted by the throttle), the others
// wait for its answer, so a burst of requests at a cache entry's expiry
// costs one hash, not one per request.
//
// A Cache is a Verifier wrapping another one; put it beneath any
// verifier whose answers must not be cached (AcceptTokens wraps a Cache,
// not the other way round). Only the verifier's answers for the user's own
// password (an Identity without a Scheme) are cached.
type Cache struct {
	next       Verifier
	users      stores.UserStore
	ttl        time.Duration
	maxAge     time.Duration
	maxEntries int
	now        func() time.Time

	pool sync.Pool // *macState

	// entries maps [sha256.Size]byte → *cacheEntry. Writers hold mu; a hit
	// reads it without a lock, so that parallel requests with one
	// credential do not contend on a read lock's shared counter.
	entries sync.Map

	flights singleflight.Group // concurrent misses of one credential

	mu         sync.Mutex // guards writes to entries, count and refreshing
	count      int        // entries held
	refreshing map[[sha256.Size]byte]bool
}

// lookup returns the entry under k.
func (c *Cache) lookup(k [sha256.Size]byte) (cacheEntry, bool) {
	v, ok := c.entries.Load(k)
	if !ok {
		return cacheEntry{}, false
	}
	return *v.(*cacheEntry), true
}

// setLocked records e under k (mu held).
func (c *Cache) setLocked(k [sha256.Size]byte, e cacheEntry) {
	if _, replaced := c.entries.Swap(k, &e); !replaced {
		c.count++
	}
}

// deleteLocked forgets k (mu held).
func (c *Cache) deleteLocked(k [sha256.Size]byte) {
	if _, held := c.entries.LoadAndDelete(k); held {
		c.count--
	}
}

type cacheEntry struct {
	login   string
	updated time.Time
	created time.Time // when the password was really checked
	expires time.Time
}

type macState struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// defaultCacheTTL is how long a verified password is remembered by default.
const defaultCacheTTL = 30 * time.Second

// defaultCacheMaxAge bounds how long use can keep extending an entry.
const defaultCacheMaxAge = 10 * time.Minute

// CacheConfig configures a Cache.
type CacheConfig struct {
	Next  Verifier         // required: what really checks (a StoreVerifier)
	Users stores.UserStore // required: the store Next checks against (hits re-read the user)
	// TTL is an entry's lifetime without use: 0 = defaultCacheTTL.
	TTL time.Duration
	// MaxAge bounds how long use keeps extending an entry: 0 =
	// defaultCacheMaxAge; below TTL, entries are never extended.
	MaxAge time.Duration
	// MaxEntries bounds the entries (0 = 100 000): when full, expired
	// entries are swept and, if that is not enough, the cache starts afresh.
	MaxEntries int
	Env        auth.Env // the service's shared settings: its clock
}

// NewCache returns the cache over cfg.Next.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.Next == nil || cfg.Users == nil {
		panic("auth: CacheConfig needs Next and Users")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = defaultCacheTTL
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = defaultCacheMaxAge
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("auth: no randomness for the cache key: " + err.Error())
	}
	c := &Cache{next: cfg.Next, users: cfg.Users, ttl: cfg.TTL, maxAge: max(cfg.MaxAge, cfg.TTL), maxEntries: cfg.MaxEntries, now: cfg.Env.Now,
		refreshing: map[[sha256.Size]byte]bool{}}
	c.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key)} }
	return c
}

func (c *Cache) key(login, pw string) ([sha256.Size]byte, *macState) {
	st := c.pool.Get().(*macState)
	st.mac.Reset()
	st.buf = append(st.buf[:0], login...)
	st.buf = append(st.buf, 0) // logins never contain NUL: the schemes refuse it
	st.buf = append(st.buf, pw...)
	st.mac.Write(st.buf)
	clear(st.buf)
	st.mac.Sum(st.sum[:0])
	return st.sum, st
}

// verifyCached answers from the cache only. A remembered credential whose user is unchanged is a hit; a
// remembered one whose user was changed, disabled or deleted is dropped (a
// miss). When the user store fails, the entry is kept and the error
// (ReasonUnavailable) returned with hit true: an outage must not empty the
// cache and send every client through a full hash once it is over.
func (c *Cache) verifyCached(ctx context.Context, login, pw string) (*auth.Identity, bool, error) {
	k, st := c.key(login, pw)
	c.pool.Put(st)
	e, hit := c.lookup(k)
	now := c.now()
	if !hit || e.login != login || !now.Before(e.expires) {
		return nil, false, nil
	}
	u, err := c.users.User(ctx, login)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, true, &auth.Error{Reason: auth.ReasonUnavailable, User: login, Cause: fmt.Errorf("auth: looking up user: %w", err)}
	}
	if err == nil && !u.Disabled && u.Updated.Equal(e.updated) {
		// Within a TTL of the ceiling: check again in the background, with a
		// whole TTL for the check to finish before anyone would wait for it.
		if ceiling := e.created.Add(c.maxAge); c.maxAge > c.ttl && now.After(ceiling.Add(-c.ttl)) {
			c.refresh(ctx, k, login, pw, e)
		}
		if e.expires.Sub(now) < c.ttl/2 { // in use and half gone: extend it
			ext := now.Add(c.ttl)
			if ceiling := e.created.Add(c.maxAge); ceiling.Before(ext) {
				ext = ceiling
			}
			if ext.After(e.expires) {
				e.expires = ext
				c.mu.Lock()
				if cur, ok := c.lookup(k); ok && cur.created.Equal(e.created) {
					c.setLocked(k, e)
				}
				c.mu.Unlock()
			}
		}
		return auth.UserIdentity(u, ""), true, nil
	}
	c.mu.Lock()
	c.deleteLocked(k)
	c.mu.Unlock()
	return nil, false, nil
}

// refresh checks a hot entry's password again in the background, once at a
// time per entry; on success the entry starts afresh, on a refusal it is
// dropped, and on a store failure it is left to end at its ceiling.
func (c *Cache) refresh(ctx context.Context, k [sha256.Size]byte, login, pw string, e cacheEntry) {
	c.mu.Lock()
	if c.refreshing[k] {
		c.mu.Unlock()
		return
	}
	c.refreshing[k] = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(withoutGate(context.WithoutCancel(ctx)), c.ttl)
	go func() {
		defer cancel()
		u, uerr := c.users.User(ctx, login)
		id, err := c.next.VerifyPassword(ctx, login, pw)
		now := c.now()
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.refreshing, k)
		switch cur, ok := c.lookup(k); {
		case !ok || !cur.created.Equal(e.created):
			// replaced or dropped meanwhile
		case err == nil && uerr == nil && id.Scheme == "":
			c.setLocked(k, cacheEntry{login: login, updated: u.Updated, created: now, expires: now.Add(c.ttl)})
		case err != nil && auth.AsError(err).Reason != auth.ReasonUnavailable:
			c.deleteLocked(k)
		}
	}()
}

// VerifyPassword implements Verifier: the cache's answer when
// it has one, else the wrapped verifier's (remembered when it succeeds).
func (c *Cache) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	if id, hit, err := c.verifyCached(ctx, login, pw); hit || err != nil {
		if err == nil {
			vouch(ctx)
		}
		return id, err
	}
	return checkOnce(ctx, &c.flights, login, pw, c.verifyMiss)
}

// verifyMiss checks a credential the cache does not hold with the next
// verifier, and remembers it when it is the user's password.
func (c *Cache) verifyMiss(ctx context.Context, login, pw string) (*auth.Identity, error) {
	// The user as it is now, read before verifying: if it changes while the
	// hash is computed, the entry carries the old stamp and is dropped at its
	// first use.
	u, err := c.users.User(ctx, login)
	id, verr := c.next.VerifyPassword(ctx, login, pw)
	if verr != nil || err != nil || id.Scheme != "" {
		return id, verr // failures, and anything but the user's own password, are never cached
	}
	k, st := c.key(login, pw)
	c.pool.Put(st)
	now := c.now()
	c.mu.Lock()
	if c.count >= c.maxEntries {
		c.entries.Range(func(ek, ev any) bool {
			if !now.Before(ev.(*cacheEntry).expires) {
				c.deleteLocked(ek.([sha256.Size]byte))
			}
			return true
		})
		if c.count >= c.maxEntries {
			c.entries.Clear()
			c.count = 0
		}
	}
	c.setLocked(k, cacheEntry{login: login, updated: u.Updated, created: now, expires: now.Add(c.ttl)})
	c.mu.Unlock()
	return id, nil
}

// forget drops every cached verification of login (call it when the user is
// changed through a path that does not update User.Updated).
func (c *Cache) forget(login string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Range(func(k, e any) bool {
		if e.(*cacheEntry).login == login {
			c.deleteLocked(k.([sha256.Size]byte))
		}
		return true
	})
}

// len is the number of cached verifications.
func (c *Cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}
