package faulttest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

// quiet drops go-redis's own log lines (every failed dial while Redis is
// down is expected here).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	code := m.Run()
	testservers.StopAll()
	os.Exit(code)
}

const consumerSecret = "faulttest-consumer-secret"

// countingVerifier counts the password hashes that really run.
type countingVerifier struct {
	next  pwcheck.Verifier
	count *atomic.Int64
}

func (c countingVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	c.count.Add(1)
	return c.next.VerifyPassword(ctx, login, pw)
}

// rig is a gatehouse server over PostgreSQL (users, tokens, consumers,
// certificates) and Redis (sessions, nonces, throttle counters) that the
// tests can break.
type rig struct {
	pg     *testservers.PostgresServer
	rd     *testservers.RedisServer
	db     sqlstore.Store
	rs     redisstore.Store
	tokens *token.Service
	srv    *httptest.Server
	hashes atomic.Int64

	plain, withCert *http.Client
	pat, access     string
	cookie          string
	rec             *recorder
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{pg: testservers.StartPostgres(t, 100), rd: testservers.StartRedis(t, true)}
	var err error
	r.db, err = sqlstore.Open(ctx, sqlstore.Config{PostgresDSN: r.pg.DSN})
	require.NoError(t, err)
	t.Cleanup(func() { r.db.Close() })
	r.rs, err = redisstore.Open(ctx, "redis://"+r.rd.Addr+"/0", "faulttest:")
	require.NoError(t, err)
	t.Cleanup(func() { r.rs.Close() })

	authtest.PutUser(t, r.db, authtest.User{Login: "admin", Password: "pw"})
	authtest.PutUser(t, r.db, authtest.User{Login: "alice", Password: "alice-pw"})
	require.NoError(t, r.db.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: consumerSecret}))
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "faulttest"})
	require.NoError(t, err)
	server, err := ca.IssueServer("api", []string{"127.0.0.1"}, mtls.LeafOptions{})
	require.NoError(t, err)
	alice, err := ca.IssueClient("alice", mtls.LeafOptions{})
	require.NoError(t, err)

	r.tokens = token.New(token.Config{Store: r.db, Users: r.db})
	cache := pwcheck.NewCache(pwcheck.CacheConfig{Next: countingVerifier{authtest.Verifier(t, r.db), &r.hashes}, Users: r.db, TTL: time.Hour})
	passwords := pwcheck.AcceptTokens(r.tokens.PATs(), cache)
	throttle := &pwcheck.Throttle{Counter: r.rs}
	bcfg := basic.Config{Passwords: &pwcheck.Pipeline{Verifier: passwords, Throttle: throttle}}
	chain := auth.Chain(
		oauth1.New(oauth1.Config{Consumers: r.db, Nonces: r.rs, Users: r.db}),
		token.XAuthToken(r.tokens.AccessTokens()),
		basic.New(bcfg),
		basic.NewQuery(bcfg, basic.QueryConfig{}),
		mtls.New(mtls.Config{ClusterID: ca.ClusterID, Revoked: r.db, Users: r.db}),
	)
	sessions := session.New(session.Config{Store: r.rs, Users: r.db, Tokens: r.tokens, Certs: r.db}, chain)
	mux := http.NewServeMux()
	mux.Handle("/api/", auth.Middleware(sessions, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		io.WriteString(w, id.Scheme+":"+id.Login())
	})))
	mux.Handle("/xcatws/tokens", &preset.XCATTokens{Service: r.tokens, Passwords: &pwcheck.Pipeline{Verifier: passwords, Throttle: throttle}})
	r.srv = httptest.NewUnstartedServer(mux)
	r.srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), tls.VerifyClientCertIfGiven)
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)

	r.plain = r.client(nil)
	cert := alice.TLSCertificate()
	r.withCert = r.client(&cert)
	r.rec = &recorder{next: r.plain.Transport}

	pat, err := r.tokens.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "faulttest"})
	require.NoError(t, err)
	r.pat = pat.Secret
	access, err := r.tokens.IssueAccess(ctx, &auth.Identity{User: "admin"}, nil)
	require.NoError(t, err)
	r.access = access.Secret
	req := r.get("/api/login")
	req.SetBasicAuth("admin", "pw")
	req.Header.Set("Prefer", "persistent-auth")
	resp, err := r.plain.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	for _, c := range resp.Cookies() {
		if c.Name == "JSESSIONID" {
			r.cookie = c.Value
		}
	}
	require.NotEmpty(t, r.cookie)
	return r
}

func (r *rig) client(cert *tls.Certificate) *http.Client {
	tr := r.srv.Client().Transport.(*http.Transport).Clone()
	if cert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	}
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}

func (r *rig) get(path string) *http.Request {
	req, _ := http.NewRequest("GET", r.srv.URL+path, nil)
	return req
}

// recorder keeps the last request an OAuth 1 client signed, to replay it.
type recorder struct {
	mu   sync.Mutex
	last *http.Request
	next http.RoundTripper
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rec.mu.Lock()
	rec.last = r.Clone(r.Context())
	rec.mu.Unlock()
	return rec.next.RoundTrip(r)
}

func (rec *recorder) lastRequest() *http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.last.Clone(context.Background())
}

// A scheme is one kind of request the client loop sends, with the status
// that means success.
type scheme struct {
	name string
	ok   int
	do   func(r *rig) (*http.Response, error)
}

func (r *rig) schemes() []scheme {
	basicAs := func(user, pw string) func(*rig) (*http.Response, error) {
		return func(r *rig) (*http.Response, error) {
			req := r.get("/api/hosts")
			req.SetBasicAuth(user, pw)
			return r.plain.Do(req)
		}
	}
	return []scheme{
		{"basic", 200, basicAs("admin", "pw")},
		{"pat", 200, basicAs("admin", r.pat)},
		{"query", 200, func(r *rig) (*http.Response, error) { return r.plain.Do(r.get("/api/hosts?userName=admin&userPW=pw")) }},
		{"token", 200, func(r *rig) (*http.Response, error) {
			req := r.get("/api/hosts")
			req.Header.Set("X-Auth-Token", r.access)
			return r.plain.Do(req)
		}},
		{"session", 200, func(r *rig) (*http.Response, error) {
			req := r.get("/api/hosts")
			req.Header.Set("Cookie", "JSESSIONID="+r.cookie)
			req.Header.Set("Prefer", "persistent-auth")
			return r.plain.Do(req)
		}},
		{"oauth1", 200, func(r *rig) (*http.Response, error) {
			c := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: "katello", ConsumerSecret: consumerSecret, User: "admin", Base: r.rec})
			return c.Get(r.srv.URL + "/api/hosts")
		}},
		{"mtls", 200, func(r *rig) (*http.Response, error) { return r.withCert.Do(r.get("/api/hosts")) }},
		{"issue", 201, func(r *rig) (*http.Response, error) {
			req, _ := http.NewRequest("POST", r.srv.URL+"/xcatws/tokens", strings.NewReader(`{"userName":"admin","userPW":"pw"}`))
			req.Header.Set("Content-Type", "application/json")
			return r.plain.Do(req)
		}},
	}
}

// storeText is what must never reach a client: driver, network and
// database wording.
var storeText = regexp.MustCompile(`(?i)pgx|sqlstate|postgres|redis|dial tcp|connection refused|deadline exceeded|sql: |i/o timeout|sqlite|readonly|read-only|lock_timeout|statement timeout`)

// tally is what a client loop saw, per scheme.
type tally struct {
	mu         sync.Mutex
	byStatus   map[string]map[int]int
	violations []string
	slowest    map[string]time.Duration
}

func newTally() *tally {
	return &tally{byStatus: map[string]map[int]int{}, slowest: map[string]time.Duration{}}
}

func (ta *tally) add(s scheme, status int, hdr http.Header, body string, took time.Duration, err error) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	if ta.byStatus[s.name] == nil {
		ta.byStatus[s.name] = map[int]int{}
	}
	ta.byStatus[s.name][status]++
	ta.slowest[s.name] = max(ta.slowest[s.name], took)
	switch {
	case err != nil:
		ta.violations = append(ta.violations, fmt.Sprintf("%s: request failed: %v", s.name, err))
	case status >= 500 && status != 503:
		ta.violations = append(ta.violations, fmt.Sprintf("%s: status %d: %s", s.name, status, body))
	case status == 503 && hdr.Get("Retry-After") == "":
		ta.violations = append(ta.violations, fmt.Sprintf("%s: 503 without Retry-After", s.name))
	case status != s.ok && storeText.MatchString(body): // (a success body holds random tokens)
		ta.violations = append(ta.violations, fmt.Sprintf("%s: store text in the body: %s", s.name, body))
	case status != s.ok && status != 503:
		ta.violations = append(ta.violations, fmt.Sprintf("%s: status %d: %s", s.name, status, body))
	}
}

func (ta *tally) count(name string, status int) int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return ta.byStatus[name][status]
}

func (ta *tally) String() string {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	var names []string
	for n := range ta.byStatus {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %v (slowest %v); ", n, ta.byStatus[n], ta.slowest[n].Round(time.Millisecond))
	}
	return b.String()
}

// once sends one request of s and records it.
func (r *rig) once(ta *tally, s scheme) int {
	start := time.Now()
	resp, err := s.do(r)
	took := time.Since(start)
	if err != nil {
		ta.add(s, 0, nil, "", took, err)
		return 0
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ta.add(s, resp.StatusCode, resp.Header, string(body), took, nil)
	return resp.StatusCode
}

// load runs workers clients over every scheme until stop is closed.
func (r *rig) load(ta *tally, workers int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	all := r.schemes()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r.once(ta, all[i%len(all)])
			}
		}()
	}
	return &wg
}

// during runs the client loop while fault holds the store broken for d.
func (r *rig) during(t *testing.T, d time.Duration, fault func()) *tally {
	t.Helper()
	ta := newTally()
	stop := make(chan struct{})
	fault()
	wg := r.load(ta, 8, stop)
	time.Sleep(d)
	close(stop)
	wg.Wait()
	return ta
}

// recovered waits until every scheme succeeds again and returns how long
// that took; it fails the test after limit.
func (r *rig) recovered(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ta := newTally()
		good := 0
		for _, s := range r.schemes() {
			if r.once(ta, s) == s.ok {
				good++
			}
		}
		if good == len(r.schemes()) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("not recovered after %v: %s %v", limit, ta, ta.violations)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// healthy checks every scheme works now.
func (r *rig) healthy(t *testing.T) {
	t.Helper()
	ta := newTally()
	for _, s := range r.schemes() {
		if got := r.once(ta, s); got != s.ok {
			t.Fatalf("%s: %d before any fault: %s %v", s.name, got, ta, ta.violations)
		}
	}
}
