package pwcheck_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func TestThrottleVerifyPassword(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, err := cheap.Hash("right")
	require.NoError(t, err)
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "u", PasswordHash: h}))
	v := &pwcheck.StoreVerifier{Users: st, DummyHash: h}
	th := &pwcheck.Throttle{Counter: st, MaxPerUser: 3}
	count := func() int { n, _, _ := st.Failures(ctx, "user", "u"); return n }
	try := func(pw string, forgive bool) error {
		_, err := th.VerifyPassword(ctx, v, pwcheck.Attempt{Scheme: "basic", Login: "u", Password: pw, Addr: "10.0.0.1", ForgiveRepeat: forgive})
		return err
	}

	require.Error(t, try("a", true))
	require.Error(t, try("a", true))
	assert.Equal(t, 1, count(), "the immediate repeat is forgiven")
	require.Error(t, try("a", true))
	assert.Equal(t, 2, count(), "only once: a third try counts")
	require.Error(t, try("b", false))
	e := auth.AsError(try("right", false))
	assert.Equal(t, auth.ReasonThrottled, e.Reason, "limit reached: even the right password waits")
	assert.Equal(t, "basic", e.Scheme)

	var nilThrottle *pwcheck.Throttle
	id, err := nilThrottle.VerifyPassword(ctx, v, pwcheck.Attempt{Scheme: "query", Login: "u", Password: "right"})
	require.NoError(t, err)
	assert.Equal(t, "query", id.Scheme)
	_, err = nilThrottle.VerifyPassword(ctx, v, pwcheck.Attempt{Scheme: "query", Login: "u", Password: "wrong"})
	assert.Equal(t, "u", auth.AsError(err).User)
}

// gatedVerifier counts the checks that reach it and holds each until
// released, so that concurrent attempts overlap for certain.
type gatedVerifier struct {
	inner   pwcheck.Verifier
	reached atomic.Int32
	gate    chan struct{}
}

func (g *gatedVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	g.reached.Add(1)
	<-g.gate
	return g.inner.VerifyPassword(ctx, login, pw)
}

// Attack: the throttle was checked before verifying and counted after, so
// 200 parallel wrong guesses for one user from one address were all checked
// against limits of 10/30.
func TestThrottleConcurrentGuesses(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, _ := cheap.Hash("right")
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "u", PasswordHash: h}))
	slots := pwcheck.NewHashSlots(0, 0)
	slots.SetCPUShare(1)
	g := &gatedVerifier{inner: &pwcheck.StoreVerifier{Users: st, DummyHash: h, Slots: slots}, gate: make(chan struct{})}
	th := &pwcheck.Throttle{Counter: st}
	var wg sync.WaitGroup
	var throttled atomic.Int32
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := th.VerifyPassword(ctx, g, pwcheck.Attempt{Scheme: "basic", Login: "u", Password: fmt.Sprint("guess", i), Addr: "10.0.0.1"})
			if auth.AsError(err).Reason == auth.ReasonThrottled {
				throttled.Add(1)
			}
		}()
	}
	// Every attempt reaches the verifier at once; the throttle counts them
	// at the hash.
	require.Eventually(t, func() bool { return g.reached.Load() == 200 }, 10*time.Second, time.Millisecond)
	close(g.gate)
	wg.Wait()
	hashed := slots.Stats().Started
	assert.LessOrEqual(t, hashed, int64(pwcheck.DefaultMaxPerUser), "at most the limit is ever checked")
	assert.EqualValues(t, 200-hashed, throttled.Load())
	n, _, _ := st.Failures(ctx, "user-addr", "10.0.0.1 u")
	assert.Equal(t, pwcheck.DefaultMaxPerUser, n, "refused attempts do not stay counted")
}

// Attack: ten failures from an attacker's address locked the real user out
// everywhere for five minutes, although the README promised that a correct
// cached credential is never slowed.
func TestThrottleDoesNotLockOutTheRealUser(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, _ := cheap.Hash("right")
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "u", PasswordHash: h}))
	cache := pwcheck.NewCache(pwcheck.CacheConfig{Next: &pwcheck.StoreVerifier{Users: st, DummyHash: h}, Users: st, TTL: time.Minute})
	th := &pwcheck.Throttle{Counter: st}
	try := func(pw, addr string) error {
		_, err := th.VerifyPassword(ctx, cache, pwcheck.Attempt{Scheme: "basic", Login: "u", Password: pw, Addr: addr})
		return err
	}
	require.NoError(t, try("right", "192.0.2.7"), "the real user logs in: now cached")
	for i := range pwcheck.DefaultMaxPerUser {
		require.Error(t, try(fmt.Sprint("guess", i), "203.0.113.66"))
	}
	assert.Equal(t, auth.ReasonThrottled, auth.AsError(try("guess", "203.0.113.66")).Reason, "the attacker is throttled")
	assert.NoError(t, try("right", "192.0.2.7"), "the real user's cached credential works")
	assert.NoError(t, try("right", "203.0.113.66"), "a cached credential is never throttled, even from there")
	assert.NoError(t, try("right", "198.51.100.1"), "cached, from a third address")

	// A fresh (uncached) correct login from another address is not locked
	// by the attacker's pair either; only the login's total ceiling (100)
	// would stop it.
	fresh := &pwcheck.StoreVerifier{Users: st, DummyHash: h}
	_, err := th.VerifyPassword(ctx, fresh, pwcheck.Attempt{Scheme: "basic", Login: "u", Password: "right", Addr: "198.51.100.2"})
	assert.NoError(t, err)
}

// loggingVerifier is a service's one-method decorator around the pipeline's
// verifier: it says nothing about caches or hashes.
type loggingVerifier struct {
	next  pwcheck.Verifier
	calls *atomic.Int32
}

func (l loggingVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	l.calls.Add(1)
	return l.next.VerifyPassword(ctx, login, pw)
}

// Attack: with the cache's "never throttle what I remember" in a side
// interface, a one-method logging decorator passed to Pipeline.With hid
// it, and the attacker's guesses from one address turned the real user's
// cached, correct password from that address into 429. Now the throttle
// counts at the hash, which the decorator cannot hide.
func TestThrottleSurvivesADecoratedVerifier(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, _ := cheap.Hash("right")
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "u", PasswordHash: h}))
	slots := pwcheck.NewHashSlots(0, 0)
	slots.SetCPUShare(1)
	p := pwcheck.New(pwcheck.Config{Users: st, Counter: st, MaxPerUser: 3, MaxPerAddr: 5, MaxPerUserTotal: 8, Slots: slots})
	var calls atomic.Int32
	p = p.With(func(next pwcheck.Verifier) pwcheck.Verifier { return loggingVerifier{next, &calls} })
	try := func(pw, addr string) error {
		_, err := p.CheckAttempt(httptest.NewRequestWithContext(ctx, "GET", "/", nil), pwcheck.Attempt{Scheme: "basic", Login: "u", Password: pw, Addr: addr})
		return err
	}
	require.NoError(t, try("right", "192.0.2.7"), "the real user logs in: now cached")
	hashed := slots.Stats().Started
	refused := 0
	for i := range 50 {
		if auth.AsError(try(fmt.Sprint("guess", i), "203.0.113.66")).Reason == auth.ReasonThrottled {
			refused++
		}
	}
	assert.Equal(t, 47, refused, "the attacker's guesses beyond the pair's limit are refused")
	assert.Equal(t, int64(3), slots.Stats().Started-hashed, "only the limit's worth of guesses was hashed")
	assert.Equal(t, int32(51), calls.Load(), "the decorator saw every check")
	assert.NoError(t, try("right", "203.0.113.66"), "a cached credential is never throttled, even from the attacker's address")
	assert.NoError(t, try("right", "192.0.2.7"))
	assert.Equal(t, int64(3), slots.Stats().Started-hashed, "the cached answers ran no hash")
}

// Attack (issue 34; before the fix the real user got 429 for the rest of
// the window): 1 000 wrong guesses from 100 addresses exhaust the login's
// ceiling of 100; then the real user's first login since a restart (no
// cache), from an address it has signed in from before, gets in on the
// first try. The guesses stay bounded: at most the ceiling is hashed, and
// a stranger's correct password is still refused until the window ends.
func TestThrottleFirstLoginSurvivesADistributedAttack(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, _ := cheap.Hash("right")
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "admin", PasswordHash: h}))
	pipeline := func() (*pwcheck.Pipeline, *pwcheck.HashSlots) {
		slots := pwcheck.NewHashSlots(0, 0)
		slots.SetCPUShare(0)
		return pwcheck.New(pwcheck.Config{Users: st, Counter: st, Slots: slots}), slots
	}
	try := func(p *pwcheck.Pipeline, pw, addr string) error {
		_, err := p.CheckAttempt(httptest.NewRequestWithContext(ctx, "GET", "/", nil), pwcheck.Attempt{Scheme: "basic", Login: "admin", Password: pw, Addr: addr})
		return err
	}
	before, _ := pipeline()
	require.NoError(t, try(before, "right", "192.0.2.10"), "the admin signs in from the office last week")

	p, slots := pipeline() // a restart: the cache is empty, the counters persist
	refused := 0
	for i := range 1000 {
		addr := fmt.Sprintf("203.0.113.%d", i%100)
		switch auth.AsError(try(p, fmt.Sprint("guess", i), addr)).Reason {
		case auth.ReasonThrottled:
			refused++
		case auth.ReasonInvalid:
		default:
			t.Fatalf("guess %d: unexpected answer", i)
		}
	}
	hashed := slots.Stats().Started
	assert.LessOrEqual(t, hashed, int64(100), "no more guesses checked than the login's ceiling")
	assert.Equal(t, int64(1000)-hashed, int64(refused))

	err := try(p, "right", "198.51.100.7")
	require.Error(t, err)
	assert.Equal(t, auth.ReasonThrottled, auth.AsError(err).Reason, "from an address never used before, the exhausted ceiling still holds")
	require.NoError(t, try(p, "right", "192.0.2.10"), "the admin's first login from a known address gets in on the first try")
	for i := range 20 {
		if err := try(p, fmt.Sprint("again", i), "192.0.2.10"); err != nil && auth.AsError(err).Reason == auth.ReasonThrottled {
			assert.GreaterOrEqual(t, i, pwcheck.DefaultMaxPerUser-1, "a known address keeps its own pair limit")
			return
		}
	}
	t.Error("guesses from the known address were never throttled")
}

// Attack: every new source address grew the in-memory counters, keyed by
// the full login: 20 000 addresses with 3 KB logins held about 63 MiB.
func TestThrottleCountersAreBounded(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	st.SetMaxFailureKeys(5000)
	h, _ := cheap.Hash("right")
	unbudgeted := pwcheck.NewHashSlots(0, 0)
	unbudgeted.SetCPUShare(0) // 20 000 cheap hashes: measure the counters, not the budget
	v := &pwcheck.StoreVerifier{Users: st, DummyHash: h, Slots: unbudgeted}
	th := &pwcheck.Throttle{Counter: st}
	login := strings.Repeat("x", 3000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 20_000 {
		addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		_, _ = th.VerifyPassword(ctx, v, pwcheck.Attempt{Scheme: "basic", Login: login + fmt.Sprint(i), Password: "p", Addr: addr})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.LessOrEqual(t, st.FailureKeys(), 5000, "the key bound holds")
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(8<<20), "heap grew %d bytes", grown)
}

// hashlessVerifier accepts "tok_good" and refuses other passwords without
// a hash (it never goes through HashSlots.Do).
type hashlessVerifier struct{ checked atomic.Int32 }

func (v *hashlessVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	v.checked.Add(1)
	if pw == "tok_good" {
		return &auth.Identity{User: login}, nil
	}
	return nil, &auth.Error{Reason: auth.ReasonInvalid, Message: "invalid token"}
}

// writeCounter counts AddFailure and RemoveFailure calls.
type writeCounter struct {
	stores.FailureCounter
	writes, reads atomic.Int32
}

func (w *writeCounter) Failures(ctx context.Context, scope, key string) (int, time.Duration, error) {
	w.reads.Add(1)
	return w.FailureCounter.Failures(ctx, scope, key)
}

func (w *writeCounter) ResetFailures(ctx context.Context, scope, key string) error {
	w.writes.Add(1)
	return w.FailureCounter.ResetFailures(ctx, scope, key)
}

func (w *writeCounter) AddFailure(ctx context.Context, scope, key string, window time.Duration) (int, time.Duration, error) {
	w.writes.Add(1)
	return w.FailureCounter.AddFailure(ctx, scope, key, window)
}

func (w *writeCounter) RemoveFailure(ctx context.Context, scope, key string) error {
	w.writes.Add(1)
	return w.FailureCounter.RemoveFailure(ctx, scope, key)
}

// TestThrottleHashless: a credential that runs no hash (a PAT) touches no
// counter when it is right, is counted when wrong, and a wrong one is
// refused once the limit is reached; the right one still works then.
func TestThrottleHashless(t *testing.T) {
	ctx := context.Background()
	counter := &writeCounter{FailureCounter: memstore.New()}
	th := &pwcheck.Throttle{Counter: counter, MaxPerUser: 3}
	hl := &hashlessVerifier{}
	// Tokens in the password's place, the way a service takes them.
	v := pwcheck.AcceptTokens(auth.TokenVerifierFunc(func(ctx context.Context, tok string) (*auth.Identity, error) {
		if !strings.HasPrefix(tok, "tok_") {
			return nil, auth.ErrNotMine
		}
		return hl.VerifyPassword(ctx, "u", tok)
	}), hl)
	try := func(pw string) error {
		_, err := th.VerifyPassword(ctx, v, pwcheck.Attempt{Scheme: "pat", Login: "u", Password: pw, Addr: "10.0.0.1"})
		return err
	}
	for range 100 {
		require.NoError(t, try("tok_good"))
	}
	assert.Equal(t, int32(0), counter.writes.Load(), "a right token is not reserved ahead")
	assert.Equal(t, int32(0), counter.reads.Load(), "nor checked against the counters")
	for range 3 {
		assert.Equal(t, auth.ReasonInvalid, auth.AsError(try("tok_guess")).Reason)
	}
	assert.Positive(t, counter.writes.Load(), "wrong tokens are counted")
	assert.Equal(t, auth.ReasonThrottled, auth.AsError(try("tok_guess")).Reason, "over the limit: a wrong token is refused with 429")
	// The owner's automation is not locked out by whoever guessed: a
	// right token is never throttled, as a cached password is not.
	writes, reads := counter.writes.Load(), counter.reads.Load()
	require.NoError(t, try("tok_good"), "over the limit: the right token still works")
	assert.Equal(t, writes, counter.writes.Load(), "a right token writes no counter")
	assert.Equal(t, reads, counter.reads.Load(), "a right token reads no counter")
}
