package loadtest_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// Items 2 and 3 of the hashing issue: 256 connections send wrong passwords,
// each request from a new address (so no throttle stops them), while a
// legitimate client uses its cached credential. Before the bound, 512
// hashes ran at once and the server reached 10 GB; cached traffic fell to
// a fourteenth.
func TestHashingUnderAttack(t *testing.T) {
	srv := startServer(t)
	legit := newClient(8, 10*time.Second)
	url := srv.url + "/api"
	status, err := get(legit, url, "legit", "legit-password", "192.0.2.1")
	require.NoError(t, err)
	require.Equal(t, 200, status, "the first login hashes once and caches")

	measure := func(d time.Duration) *hammer {
		stop := make(chan struct{})
		h := run(8, stop, 0, func(_, _ int) (int, error) { return get(legit, url, "legit", "legit-password", "192.0.2.1") })
		time.Sleep(d)
		close(stop)
		h.wait()
		return h
	}
	attacker := newClient(256, 30*time.Second)
	var seq atomic.Int64
	startAttack := func() (stop func() *hammer) {
		done := make(chan struct{})
		h := run(256, done, 0, func(w, i int) (int, error) {
			n := seq.Add(1)
			return get(attacker, url, fmt.Sprintf("victim%d", w), fmt.Sprintf("guess-%d", i), fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
		})
		return func() *hammer { close(done); h.wait(); return h }
	}
	// The ratio is of two 3-second windows on a shared 2-core machine,
	// whose neighbours (another test suite in CI) can take a third of it
	// for seconds: each window under attack is paired with a window alone
	// right before it, and up to three pairs are measured, the best
	// counting (each is logged). Each attack starts afresh, so its window
	// holds the hashing budget's initial burst (up to a second of hashes).
	// A regression (cached logins waiting behind hashes) fails all three by
	// far: 0.002 before issue 22's fix.
	var baseline, during *hammer
	ratio := -1.0
	attackStatus := map[int]int{}
	var attackErrors int64
	legit503 := 0
	for try := 0; try < 3 && ratio < 0.7; try++ {
		alone := measure(3 * time.Second)
		stopAttack := startAttack()
		time.Sleep(500 * time.Millisecond) // let the attack build up
		h := measure(3 * time.Second)
		a := stopAttack()
		for status, n := range a.byStatus {
			attackStatus[status] += n
		}
		attackErrors += a.errors.Load()
		legit503 += h.count(503)
		r := float64(h.count(200)) / float64(alone.count(200))
		t.Logf("pair %d: %d OK alone, %d OK under attack (%.2f)", try+1, alone.count(200), h.count(200), r)
		if r > ratio {
			ratio, baseline, during = r, alone, h
		}
	}
	attacker.CloseIdleConnections()

	peak := srv.peakRSS(t)
	slots := int64(runtime.NumCPU())
	limit := slots*20<<20 + 200<<20
	t.Logf("cached Basic: %d OK in 3 s alone, %d OK in 3 s under attack (%.2f); attack: %v, %d client errors; server peak RSS %d MiB (limit %d MiB); p99 legit %v",
		baseline.count(200), during.count(200), ratio, attackStatus, attackErrors, peak>>20, limit>>20, during.p99())
	assert.Zero(t, attackStatus[500])
	assert.Positive(t, attackStatus[401], "the attack's hashes ran, within the bound")
	assert.Zero(t, legit503, "a cached credential never waits for a hash slot")
	if !raceEnabled { // the race detector's shadow memory and slowdown void these
		assert.LessOrEqual(t, peak, limit, "memory stays within slots × hash memory + 200 MiB")
		assert.GreaterOrEqual(t, ratio, 0.7, "cached credentials keep 70%% of their throughput")
	}
}

// Item 1: when a hot credential's cache entry ends, every in-flight request
// used to hash it again at once (seconds at ~0 req/s, 1.5 GB). Now the
// entry is extended while in use, and before its ceiling one check runs in
// the background while requests are answered from the cache.
//
// The latency is judged against the same load in the same run on a cache
// whose ceiling is far away (no refresh at all), not against an absolute
// figure: on a shared 2-core machine beside another test suite a p99 of a
// few hundred milliseconds is the machine, not the cache. A stampede costs
// seconds at ~0 req/s, so the bound (twice the baseline plus 50 ms) keeps
// failing it; a noisy window is measured again, up to three times.
func TestCacheCeilingUnderLoad(t *testing.T) {
	measure := func(ceiling time.Duration) (*hammer, int64) {
		store := legitStore()
		slots := pwcheck.NewHashSlots(0, 0)
		srv := httptest.NewTLSServer(handler(store, slots, time.Second, ceiling))
		defer srv.Close()
		c := newClient(64, 10*time.Second)
		defer c.CloseIdleConnections()
		status, err := get(c, srv.URL, "legit", "legit-password", "192.0.2.1")
		require.NoError(t, err)
		require.Equal(t, 200, status)
		before := slots.Stats().Started
		stop := make(chan struct{})
		// 64 clients, each sending a request every 20 ms.
		h := run(64, stop, 20*time.Millisecond, func(_, _ int) (int, error) {
			return get(c, srv.URL, "legit", "legit-password", "192.0.2.1")
		})
		time.Sleep(2500 * time.Millisecond) // the refresh is due 2 s after the check, within a TTL of the 3 s ceiling
		close(stop)
		h.wait()
		return h, slots.Stats().Started - before
	}
	for try := 1; ; try++ {
		base, baseHashes := measure(time.Hour)
		h, hashes := measure(3 * time.Second)
		t.Logf("try %d, 64 connections for 2.5 s: at the ceiling %v, p99 %v, %d hashes; far from it p99 %v, %d hashes",
			try, h.byStatus, h.p99(), hashes, base.p99(), baseHashes)
		assert.Equal(t, 0, h.count(429)+h.count(503))
		// A stampede hashes once per request in flight (64 here); a second
		// hash means a stall longer than the cache's TTL (1 s) on a busy
		// machine, which another window tells apart.
		require.LessOrEqual(t, hashes, int64(3), "a stampede of hashes at the ceiling")
		quiet := hashes == 1
		if quiet && (raceEnabled || h.p99() <= 2*base.p99()+50*time.Millisecond) {
			return
		}
		if try == 3 {
			assert.Equal(t, int64(1), hashes, "one hash before the ceiling, in the background, in one of three windows")
			assert.LessOrEqual(t, h.p99(), 2*base.p99()+50*time.Millisecond, "no latency spike at the ceiling in three tries")
			return
		}
	}
}

// Item 3: hashes kept running 15 s after the load generator left. A check
// whose client has gone is never started.
func TestNoHashingForClientsThatLeft(t *testing.T) {
	store := legitStore()
	slots := pwcheck.NewHashSlots(1, 5*time.Second)
	srv := httptest.NewTLSServer(handler(store, slots, 0, 0))
	defer srv.Close()
	c := newClient(64, 30*time.Millisecond) // they give up at once
	for i := range 40 {
		go func() { _, _ = get(c, srv.URL, "legit", fmt.Sprint("wrong-", i), fmt.Sprint("10.0.0.", i)) }()
	}
	time.Sleep(300 * time.Millisecond) // every client has left by now
	settled := slots.Stats().Started
	time.Sleep(time.Second)
	st := slots.Stats()
	t.Logf("40 clients that left: %d hashes started, then %d more; %d running", settled, st.Started-settled, st.Running)
	assert.Equal(t, settled, st.Started, "no hash starts after the clients left")
	assert.Less(t, settled, int64(40), "most of them never started")
	assert.Zero(t, st.Running)
}

// Item 4: a request without any credential costs no store call and no
// hash, and a flood of identical refusals does not flood the audit log.
func TestNoCredentialsIsCheap(t *testing.T) {
	store := &countingStore{Store: memstore.New()}
	slots := pwcheck.NewHashSlots(0, 0)
	tokens := token.New(token.Config{Store: store, Users: store})
	var logbuf bytes.Buffer
	pw := &pwcheck.StoreVerifier{Users: store, Slots: slots}
	chain := auth.Chain(
		oauth1.New(oauth1.Config{Consumers: store, Nonces: store, Users: store}),
		token.XAuthToken(tokens.AccessTokens()),
		basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(tokens.PATs(), pwcheck.NewCache(pwcheck.CacheConfig{Next: pw, Users: store}))}}),
		basic.NewQuery(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pw}}, basic.QueryConfig{}),
	)
	h := auth.Middleware(session.New(session.Config{Store: store, Users: store, Tokens: tokens}, chain), auth.Config{Env: auth.Env{Audit: slog.New(slog.NewJSONHandler(&logbuf, nil))}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for range 1000 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "https://api.example/api/hosts?x=1", strings.NewReader(`{"a":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "198.51.100.7:4444"
		h.ServeHTTP(rec, req)
		require.Equal(t, 401, rec.Code)
	}
	assert.Zero(t, store.calls.Load(), "no store call")
	assert.Zero(t, slots.Stats().Started, "no hash")
	lines := strings.Count(logbuf.String(), "\n")
	assert.LessOrEqual(t, lines, 2, "1000 identical refusals in well under a second: one audit record (got %d)", lines)

	// A distinct failure and a success are still logged.
	logbuf.Reset()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://api.example/api", nil)
	req.RemoteAddr = "203.0.113.9:1"
	h.ServeHTTP(rec, req)
	assert.Equal(t, 1, strings.Count(logbuf.String(), "\n"), "another address: another record")
	time.Sleep(1100 * time.Millisecond)
	logbuf.Reset()
	req = httptest.NewRequest("GET", "https://api.example/api", nil)
	req.RemoteAddr = "198.51.100.7:4444"
	h.ServeHTTP(httptest.NewRecorder(), req)
	assert.Contains(t, logbuf.String(), `"repeats":`, "the held-back repeats are counted in the next record")
}

func BenchmarkNoCredentials(b *testing.B) {
	store := memstore.New()
	tokens := token.New(token.Config{Store: store, Users: store})
	pw := &pwcheck.StoreVerifier{Users: store}
	chain := auth.Chain(
		oauth1.New(oauth1.Config{Consumers: store, Nonces: store, Users: store}),
		token.XAuthToken(tokens.AccessTokens()),
		basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(tokens.PATs(), pwcheck.NewCache(pwcheck.CacheConfig{Next: pw, Users: store}))}}),
	)
	h := auth.Middleware(session.New(session.Config{Store: store, Users: store, Tokens: tokens}, chain), auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "https://api.example/api/hosts", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(discard{}, req)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// countingStore counts every call the schemes make to it.
type countingStore struct {
	memstore.Store
	calls atomic.Int64
}

func (s *countingStore) User(ctx context.Context, login string) (*stores.User, error) {
	s.calls.Add(1)
	return s.Store.User(ctx, login)
}

func (s *countingStore) TokenByHash(ctx context.Context, h string) (*stores.Token, error) {
	s.calls.Add(1)
	return s.Store.TokenByHash(ctx, h)
}

func (s *countingStore) SessionByHash(ctx context.Context, h string) (*stores.Session, error) {
	s.calls.Add(1)
	return s.Store.SessionByHash(ctx, h)
}

func (s *countingStore) Consumer(ctx context.Context, key string) (*stores.Consumer, error) {
	s.calls.Add(1)
	return s.Store.Consumer(ctx, key)
}
