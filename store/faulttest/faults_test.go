package faulttest_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/internal/oauthsig"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestFaults breaks the stores of one running server in turn, under a
// client loop over every scheme.
func TestFaults(t *testing.T) {
	r := newRig(t)
	r.healthy(t)
	goroutines := runtime.NumGoroutine()

	// Item 1: Redis killed and restarted. Its append-only file keeps the
	// nonces, so a request accepted before the restart is refused after it;
	// the session survives too.
	t.Run("redis restart", func(t *testing.T) {
		r.healthy(t) // the recorder now holds an accepted OAuth 1 request
		captured := r.rec.lastRequest()
		ta := r.during(t, 4*time.Second, r.rd.Stop)
		t.Log(ta)
		assert.Empty(t, ta.violations)
		assert.Positive(t, ta.count("session", 503), "sessions live in Redis: 503 while it is gone")
		assert.Positive(t, ta.count("oauth1", 503), "nonces live in Redis")
		assert.Zero(t, ta.count("basic", 503), "a cached password needs no Redis")
		assert.Zero(t, ta.count("pat", 503), "a right personal access token touches no throttle counter")
		require.NoError(t, r.rd.Start())
		took := r.recovered(t, 5*time.Second)
		t.Logf("recovered %v after Redis came back", took)
		assert.LessOrEqual(t, took, 2*time.Second)
		resp, err := r.plain.Transport.RoundTrip(captured)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode, "a request accepted before the restart is not accepted again")
	})

	// Item 2: a locked table holds no request past its deadline, and logins
	// that never read it go on working.
	t.Run("locked tokens table", func(t *testing.T) {
		conn, err := sql.Open("pgx", r.pg.DSN)
		require.NoError(t, err)
		defer conn.Close()
		tx, err := conn.Begin()
		require.NoError(t, err)
		ta := r.during(t, 4*time.Second, func() {
			_, err = tx.Exec("LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE")
			require.NoError(t, err)
		})
		require.NoError(t, tx.Rollback())
		t.Log(ta)
		assert.Empty(t, ta.violations)
		for _, name := range []string{"token", "pat", "issue"} {
			assert.Positive(t, ta.count(name, 503), name+" reads tokens: 503 while it is locked")
			assert.Less(t, ta.slowest[name], 3*time.Second, name+" never waits much past the 2 s deadline")
		}
		for _, name := range []string{"basic", "query", "session", "oauth1", "mtls"} {
			assert.Zero(t, ta.count(name, 503), name+" never reads tokens and is not starved")
		}
		took := r.recovered(t, 5*time.Second)
		assert.LessOrEqual(t, took, 2*time.Second)
	})

	// Items 3 and 4: PostgreSQL stopped. Every failure is a 503 with
	// Retry-After; the password cache keeps its entries, so recovery costs
	// no password hash.
	t.Run("postgres outage", func(t *testing.T) {
		before := r.hashes.Load()
		ta := r.during(t, 1500*time.Millisecond, func() { require.NoError(t, r.pg.Stop()) })
		t.Log(ta)
		assert.Empty(t, ta.violations)
		assert.Positive(t, ta.count("basic", 503), "the user behind a cached password is read from PostgreSQL")
		require.NoError(t, r.pg.Start())
		took := r.recovered(t, 10*time.Second)
		t.Logf("recovered %v after PostgreSQL came back", took)
		assert.LessOrEqual(t, took, 2*time.Second)
		assert.Equal(t, before, r.hashes.Load(), "no password was hashed again: the cache kept its entries through the outage")
	})

	// Nothing issued before or during the faults was lost.
	r.healthy(t)
	r.plain.CloseIdleConnections()
	r.withCert.CloseIdleConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+10 }, 5*time.Second, 100*time.Millisecond,
		"goroutines: %d before the faults, %d after", goroutines, runtime.NumGoroutine())
}

// Item 1, the clock: with the service's clock more than twice the window
// behind Redis's, SET … EXAT <past> succeeded and the key vanished at once,
// so every replay was accepted. The TTL is now relative.
func TestRedisNonceWithSkewedClock(t *testing.T) {
	rd := testservers.StartRedis(t, false)
	rs, err := redisstore.Open(context.Background(), "redis://"+rd.Addr+"/0", "skew:")
	require.NoError(t, err)
	defer rs.Close()
	behind := func() time.Time { return time.Now().Add(-11 * time.Minute) }
	rs.SetClock(behind)
	st := memstore.New()
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: "katello", Secret: consumerSecret}))
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: rs, Mapping: stores.ConsumerMapNone, Env: auth.Env{Now: behind}})
	ts := strconv.FormatInt(behind().Unix(), 10)
	params := []oauthsig.Param{{Name: "oauth_consumer_key", Value: "katello"}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
		{Name: "oauth_timestamp", Value: ts}, {Name: "oauth_nonce", Value: "skewed-nonce"}, {Name: "oauth_version", Value: "1.0"}}
	base := oauthsig.BaseString("GET", oauthsig.BaseURI("https", "api.example", "/api"), params)
	params = append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", base, consumerSecret, "")})
	var parts []string
	for _, p := range params {
		parts = append(parts, p.Name+`="`+oauthsig.Encode(p.Value)+`"`)
	}
	mk := func() *http.Request {
		req := httptest.NewRequest("GET", "https://api.example/api", nil)
		req.Header.Set("Authorization", "OAuth "+strings.Join(parts, ","))
		return req
	}
	_, err = a.Authenticate(mk())
	require.NoError(t, err)
	_, err = a.Authenticate(mk())
	require.Error(t, err, "the replay is refused")
	assert.Contains(t, auth.AsError(err).Text(), "replayed nonce")
}

// Item 5: the throttle and its counters used two clocks. A step of the
// service clock made a locked user's attempts checked again (Redis), and a
// memory window opened while the clock was an hour ahead outlived the step
// back (Retry-After 3 894 s).
func TestThrottleAcrossClockSteps(t *testing.T) {
	rd := testservers.StartRedis(t, false)
	rs, err := redisstore.Open(context.Background(), "redis://"+rd.Addr+"/0", "clock:")
	require.NoError(t, err)
	defer rs.Close()
	users := authtest.Users(authtest.User{Login: "u", Password: "right"})
	v := authtest.Verifier(t, users)
	lockOut := func(th *pwcheck.Throttle) func() *auth.Error {
		try := func() *auth.Error {
			_, err := th.VerifyPassword(context.Background(), v, pwcheck.Attempt{Scheme: "basic", Login: "u", Password: "wrong", Addr: "192.0.2.1"})
			return auth.AsError(err)
		}
		for range 10 { // pwcheck's default MaxPerUser
			require.Equal(t, auth.ReasonInvalid, try().Reason)
		}
		return try
	}

	t.Run("redis, service clock an hour ahead", func(t *testing.T) {
		th := &pwcheck.Throttle{Counter: rs, Env: auth.Env{Now: func() time.Time { return time.Now().Add(time.Hour) }}}
		e := lockOut(th)()
		assert.Equal(t, auth.ReasonThrottled, e.Reason, "still locked: Redis's own TTL decides, not the service clock")
		assert.LessOrEqual(t, e.RetryAfter, 5*time.Minute)
	})
	t.Run("memory, clock stepped back an hour", func(t *testing.T) {
		st := memstore.New()
		ahead := true
		st.SetClock(func() time.Time {
			if ahead {
				return time.Now().Add(time.Hour)
			}
			return time.Now()
		})
		try := lockOut(&pwcheck.Throttle{Counter: st})
		ahead = false
		e := try()
		require.Equal(t, auth.ReasonThrottled, e.Reason)
		assert.LessOrEqual(t, e.RetryAfter, 5*time.Minute, "Retry-After never exceeds the window")
	})
}

// Item 6: last-used times stopped being written for as long as the clock
// had stepped back.
func TestLastUsedAfterClockStepsBack(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin", Password: "pw"})
	clk := authtest.NewClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	svc := token.New(token.Config{Store: st, Users: st, TouchInterval: time.Minute, Env: auth.Env{Now: clk.Now}})
	ctx := context.Background()
	first, err := svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "first"})
	require.NoError(t, err)
	second, err := svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "second"})
	require.NoError(t, err)
	clk.Add(2 * time.Minute)
	_, err = svc.Verify(ctx, first.Secret, token.PrefixPAT, auth.SchemePAT) // flushed: a minute has passed
	require.NoError(t, err)
	clk.Add(-time.Hour) // NTP steps the clock back an hour
	_, err = svc.Verify(ctx, second.Secret, token.PrefixPAT, auth.SchemePAT)
	require.NoError(t, err)
	stored, err := st.TokenByID(ctx, second.Token.ID)
	require.NoError(t, err)
	assert.True(t, stored.LastUsed.Equal(clk.Now()), "the use after the step back was written, not held for an hour (last used %v)", stored.LastUsed)
}

// Item 7: SQLite made unwritable and fixed again: writes fail with 503 and
// Retry-After, then work again within 2 s (connections opened meanwhile
// are recycled).
func TestSQLiteUnwritableAndFixed(t *testing.T) {
	chattr, err := exec.LookPath("chattr")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv(testservers.RequireEnv) == "1" && err != nil {
			t.Fatalf("chattr is needed to make a file unwritable for root: %v", err)
		}
		t.Skip("needs root and chattr (permission bits do not stop root)")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	require.NoError(t, err)
	defer db.Close()
	authtest.PutUser(t, db, authtest.User{Login: "admin", Password: "pw"})
	svc := token.New(token.Config{Store: db, Users: db})
	h := &preset.XCATTokens{Service: svc, Passwords: &pwcheck.Pipeline{Verifier: authtest.Verifier(t, db)}}
	issue := func() *http.Response {
		req := httptest.NewRequest("POST", "https://api.example/xcatws/tokens", strings.NewReader(`{"userName":"admin","userPW":"pw"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	require.Equal(t, 201, issue().StatusCode)
	// The database and its write-ahead log become unwritable. The -shm
	// file is left alone: SQLite maps it into memory, and a mapping of a
	// file that cannot grow ends the process with SIGBUS, which is no
	// store fault but the kernel's.
	files := []string{path, path + "-wal"}
	lock := func(flag string) {
		for _, f := range files {
			out, err := exec.Command(chattr, flag, f).CombinedOutput()
			if err != nil {
				t.Skipf("chattr %s not supported here: %v %s", flag, err, out)
			}
		}
	}
	lock("+i")
	unlocked := false
	defer func() {
		if !unlocked {
			lock("-i")
		}
	}()
	resp := issue()
	assert.Equal(t, 503, resp.StatusCode, "writing an unwritable database is the server's trouble")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	lock("-i")
	unlocked = true
	start := time.Now()
	for issue().StatusCode != 201 {
		require.Less(t, time.Since(start), 2*time.Second, "writes work again within 2 s of the fix")
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("writes back %v after the file was fixed", time.Since(start))
}

// Item 8: the pool size was fixed at 32: 200 clients against a server with
// max_connections=20 got 503s. The pool now follows the server.
func TestSmallPostgresManyClients(t *testing.T) {
	pg := testservers.StartPostgres(t, 20)
	db, err := sqlstore.OpenPostgres(context.Background(), pg.DSN)
	require.NoError(t, err)
	defer db.Close()
	assert.LessOrEqual(t, db.DB().Stats().MaxOpenConnections, 20/4+1, "the pool is a quarter of max_connections")
	authtest.PutUser(t, db, authtest.User{Login: "admin", Password: "pw"})
	svc := token.New(token.Config{Store: db, Users: db})
	pat, err := svc.CreatePAT(context.Background(), token.PATSpec{Login: "admin", Name: "ci"})
	require.NoError(t, err)
	mw := auth.Middleware(basicPAT(svc, db), auth.Config{})
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				req := httptest.NewRequest("GET", "https://api.example/api", nil)
				req.SetBasicAuth("admin", pat.Secret)
				rec := httptest.NewRecorder()
				mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, req)
				mu.Lock()
				statuses[rec.Code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Log(statuses)
	assert.Equal(t, map[int]int{200: 1000}, statuses)
}

func basicPAT(svc *token.Service, users stores.UserStore) auth.Authenticator {
	return basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(svc.PATs(), &pwcheck.StoreVerifier{Users: users})}})
}

// Item 1, the operator's side: Open says loudly when Redis would forget
// nonces on a restart, and says nothing when it keeps them.
func TestRedisPersistenceWarning(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	for _, persistent := range []bool{false, true} {
		buf.Reset()
		rd := testservers.StartRedis(t, persistent)
		rs, err := redisstore.Open(context.Background(), "redis://"+rd.Addr+"/0", "warn:")
		require.NoError(t, err)
		ok, err := rs.Persistent(context.Background())
		require.NoError(t, err)
		assert.Equal(t, persistent, ok)
		if persistent {
			assert.Empty(t, buf.String())
		} else {
			assert.Contains(t, buf.String(), "keeps no data across restarts")
		}
		rs.Close()
	}
}

// Fault (failed before the fix: after PostgreSQL came back with a lower
// max_connections, the pool kept its old size and 1.6 % of requests got
// 503): the pool follows the server's max_connections after a restart,
// and a burst then gets no refusal.
func TestPoolFollowsMaxConnections(t *testing.T) {
	pg := testservers.StartPostgres(t, 48)
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, pg.DSN)
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, 12, db.DB().Stats().MaxOpenConnections, "a quarter of max_connections")
	authtest.PutUser(t, db, authtest.User{Login: "admin", Password: "pw"})

	require.NoError(t, pg.Stop())
	pg.SetMaxConnections(8)
	require.NoError(t, pg.Start())
	deadline := time.Now().Add(20 * time.Second)
	for db.DB().Stats().MaxOpenConnections != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("pool still %d 20 s after the server came back with max_connections=8", db.DB().Stats().MaxOpenConnections)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.User(ctx, "admin"); err != nil {
				failed.Add(1)
				t.Log(err)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of 40 calls failed after the restart", n)
	}
}
