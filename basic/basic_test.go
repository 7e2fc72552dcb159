package basic_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/internal/httpx"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
)

var users = []authtest.User{
	{Login: "wsuser", Password: "cluster-secret", Groups: []string{"admin"}},
	{Login: "zoë", Password: "pässwörd:with:colons"},
	{Login: "admin@internal", Password: "ovirt-pw"},
	{Login: "gone", Password: "pw", Disabled: true},
}

// seenURL records the URL each handler call saw.
type recorder struct{ lastURL atomic.Value }

func (rec *recorder) handler(w http.ResponseWriter, r *http.Request) {
	rec.lastURL.Store(r.URL.String())
	id, _ := auth.IdentityFrom(r.Context())
	io.WriteString(w, id.Scheme+":"+id.Login())
}

type setup struct {
	srv   *httptest.Server
	store memstore.Store
	rec   *recorder
	calls *atomic.Int64
	slots *pwcheck.HashSlots
}

type countingVerifier struct {
	next  pwcheck.Verifier
	calls *atomic.Int64
}

func (c countingVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	c.calls.Add(1)
	return c.next.VerifyPassword(ctx, login, pw)
}

func newSetup(t *testing.T, tls bool, mutate func(*basic.Config), mw ...auth.Config) *setup {
	t.Helper()
	s := &setup{store: authtest.Users(users...), rec: &recorder{}, calls: &atomic.Int64{}, slots: pwcheck.NewHashSlots(0, 0)}
	s.slots.SetCPUShare(0)
	v := authtest.Verifier(t, s.store)
	v.Slots = s.slots
	cfg := basic.Config{Realm: "RESTAPI", Passwords: &pwcheck.Pipeline{
		Verifier: pwcheck.NewCache(pwcheck.CacheConfig{Next: countingVerifier{v, s.calls}, Users: s.store, TTL: time.Minute})}}
	if mutate != nil {
		mutate(&cfg)
	}
	chain := auth.Chain(basic.New(cfg), basic.NewQuery(cfg, basic.QueryConfig{TokenURL: "/xcatws/tokens"}))
	var mwc auth.Config
	if len(mw) > 0 {
		mwc = mw[0]
	}
	h := auth.Middleware(chain, mwc)(http.HandlerFunc(s.rec.handler))
	if tls {
		s.srv = httptest.NewTLSServer(h)
	} else {
		s.srv = httptest.NewServer(h)
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *setup) get(t *testing.T, path string, header map[string]string, basicUser, basicPW *string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.srv.URL+path, nil)
	require.NoError(t, err)
	if basicUser != nil {
		req.SetBasicAuth(*basicUser, *basicPW)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func ptr(s string) *string { return &s }

func TestBasicOverTLS(t *testing.T) {
	s := newSetup(t, true, func(c *basic.Config) {})
	cases := []struct {
		name, user, pw string
		status         int
		body           string
	}{
		{"good", "wsuser", "cluster-secret", 200, "basic:wsuser"},
		{"utf-8 user, colons in password", "zoë", "pässwörd:with:colons", 200, "basic:zoë"},
		{"wrong password", "wsuser", "nope", 401, ""},
		{"unknown user", "nobody", "cluster-secret", 401, ""},
		{"disabled user", "gone", "pw", 401, ""},
		{"password cut at first colon is wrong", "zoë", "pässwörd", 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.get(t, "/api", nil, &c.user, &c.pw)
			assert.Equal(t, c.status, resp.StatusCode, body)
			if c.status == 200 {
				assert.Equal(t, c.body, body)
				return
			}
			assert.Equal(t, []string{`Basic realm="RESTAPI", charset="UTF-8"`}, resp.Header.Values("WWW-Authenticate"))
			assert.NotContains(t, body, c.pw)
			var p httpx.Problem
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			assert.Equal(t, "invalid user name or password", p.Detail)
		})
	}
	resp, _ := s.get(t, "/api", nil, nil, nil)
	assert.Equal(t, 401, resp.StatusCode, "no credentials")
	assert.Equal(t, []string{`Basic realm="RESTAPI", charset="UTF-8"`}, resp.Header.Values("WWW-Authenticate"))
}

func TestMalformedBasicHeaders(t *testing.T) {
	s := newSetup(t, true, nil)
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	wrapped := enc("wsuser:cluster-secret-that-is-long-enough-to-wrap-in-a-76-column-base64-encoder-xxxxxxxxxx")
	cases := []struct {
		name, header, want string
	}{
		{"line-wrapped base64 (folded to a space)", "Basic " + wrapped[:20] + " " + wrapped[20:], "whitespace"},
		{"not base64", "Basic !!!notbase64", "not valid base64"},
		{"no colon", "Basic " + enc("wsuser"), "no colon"},
		{"empty user", "Basic " + enc(":pw"), "empty user name"},
		{"trailing newline from echo", "Basic " + enc("wsuser:cluster-secret\n"), "CR/LF"},
		{"NUL in user", "Basic " + enc("ws\x00user:pw"), "control character"},
		{"NUL in password", "Basic " + enc("wsuser:p\x00w"), "NUL"},
		{"bad UTF-8 user", "Basic " + enc("\xff\xfe:pw"), "UTF-8"},
		{"oversized", "Basic " + strings.Repeat("QUFB", 2000), "longer than"},
		{"empty", "Basic ", "empty Basic credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.get(t, "/", map[string]string{"Authorization": c.header}, nil, nil)
			assert.Equal(t, 400, resp.StatusCode, body)
			var p httpx.Problem
			require.NoError(t, json.Unmarshal([]byte(body), &p), body)
			assert.Contains(t, p.Detail, c.want)
			assert.Equal(t, string(auth.ReasonMalformed), p.Reason)
		})
	}
	// A raw CR/LF inside the value cannot cross a real HTTP/1.1 connection;
	// the parser still names it.
	req := httptest.NewRequest("GET", "https://api.example/", nil)
	req.Header.Set("Authorization", "Basic "+wrapped[:20]+"\r\n"+wrapped[20:])
	_, err := basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: authtest.Verifier(t, s.store)}}).Authenticate(req)
	require.Error(t, err)
	assert.Contains(t, auth.AsError(err).Text(), "line break")
	assert.Zero(t, s.calls.Load(), "malformed credentials never reach the verifier")
}

func TestOtherSchemeIsNotBasic(t *testing.T) {
	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: memstore.New()})})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer abc")
	_, err := a.Authenticate(req)
	assert.ErrorIs(t, err, auth.ErrNoCredentials)
	req.Header.Set("Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte("u:p")))
	_, err = a.Authenticate(req)
	assert.Equal(t, auth.ReasonInvalid, auth.AsError(err).Reason, "the scheme name is case-insensitive")
}

func TestUserAtDomain(t *testing.T) {
	s := newSetup(t, true, func(c *basic.Config) {
		c.Domains = []string{"internal", "corp.example"}
		c.DefaultDomain = ""
	})
	for _, c := range []struct {
		login, pw string
		status    int
		body      string
	}{
		{"admin@internal", "ovirt-pw", 200, "basic:admin@internal"},
		{"admin@unknown", "ovirt-pw", 401, ""},
		{"admin", "ovirt-pw", 401, ""},
		{"admin@internal", "wrong", 401, ""},
	} {
		resp, body := s.get(t, "/", nil, &c.login, &c.pw)
		assert.Equal(t, c.status, resp.StatusCode, c.login)
		if c.status == 200 {
			assert.Equal(t, c.body, body)
		}
	}
	// The split is on the last @: an e-mail style user in a domain.
	authtest.PutUser(t, s.store, authtest.User{Login: "jo@example.com@corp.example", Password: "pw"})
	resp, body := s.get(t, "/", nil, ptr("jo@example.com@corp.example"), ptr("pw"))
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "basic:jo@example.com@corp.example", body)

	s2 := newSetup(t, true, func(c *basic.Config) { c.Domains = []string{"internal"}; c.DefaultDomain = "internal" })
	resp, body = s2.get(t, "/", nil, ptr("admin"), ptr("ovirt-pw"))
	assert.Equal(t, 200, resp.StatusCode, "the default domain applies to bare logins")
	assert.Equal(t, "basic:admin@internal", body)
}

func TestQueryCredentials(t *testing.T) {
	s := newSetup(t, true, nil)
	resp, body := s.get(t, "/xcatws/nodes?userName=wsuser&userPW=cluster-secret&pretty=1", nil, nil, nil)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "query:wsuser", body)
	assert.Equal(t, "@1767225600", resp.Header.Get("Deprecation"))
	assert.Equal(t, `</xcatws/tokens>; rel="deprecation"`, resp.Header.Get("Link"))
	assert.Equal(t, "/xcatws/nodes?pretty=1", s.rec.lastURL.Load(), "the handler never sees the credentials")

	resp, body = s.get(t, "/xcatws/nodes?userName=wsuser&password=cluster-secret", nil, nil, nil)
	assert.Equal(t, 200, resp.StatusCode, "legacy parameter name: %s", body)
	assert.Equal(t, "/xcatws/nodes", s.rec.lastURL.Load())

	for _, c := range []struct {
		q      string
		status int
	}{
		{"userName=wsuser&userPW=wrong", 401},
		{"userName=wsuser", 400},
		{"userPW=x", 400},
		{"userName=a&userName=b&userPW=x", 400},
		{"userName=wsuser&userPW=%zz", 400},
		{"userName=&userPW=x", 400},
		{"pretty=1", 401}, // no credentials at all
	} {
		resp, body := s.get(t, "/x?"+c.q, nil, nil, nil)
		assert.Equal(t, c.status, resp.StatusCode, c.q)
		assert.NotContains(t, body, "wrong")
		assert.Empty(t, resp.Header.Get("Deprecation"))
	}
}

func TestStripCredentials(t *testing.T) {
	p := []string{"userName", "userPW", "password"}
	assert.Equal(t, "a=1&b=%20x", basic.StripCredentials("userName=u&a=1&userPW=p&b=%20x", p))
	assert.Equal(t, "", basic.StripCredentials("user%4Eame=u&password=p", p), "escaped names are stripped too")
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t, true, nil)
	good := func() int {
		resp, _ := s.get(t, "/", nil, ptr("wsuser"), ptr("cluster-secret"))
		return resp.StatusCode
	}
	require.Equal(t, 200, good())
	require.Equal(t, 200, good())
	require.Equal(t, 200, good())
	assert.EqualValues(t, 1, s.calls.Load(), "three requests, one hash verification")

	// A failure is never cached as a success, and never hides the next success.
	resp, _ := s.get(t, "/", nil, ptr("wsuser"), ptr("wrong"))
	assert.Equal(t, 401, resp.StatusCode)
	resp, _ = s.get(t, "/", nil, ptr("wsuser"), ptr("wrong"))
	assert.Equal(t, 401, resp.StatusCode)
	assert.EqualValues(t, 3, s.calls.Load())

	// A password change takes effect at once.
	authtest.PutUser(t, s.store, authtest.User{Login: "wsuser", Password: "new-secret"})
	assert.Equal(t, 401, good())
	resp, _ = s.get(t, "/", nil, ptr("wsuser"), ptr("new-secret"))
	assert.Equal(t, 200, resp.StatusCode)

	// So does disabling the user.
	u, err := s.store.User(ctx, "wsuser")
	require.NoError(t, err)
	disabled := *u
	disabled.Disabled = true
	require.NoError(t, s.store.PutUser(ctx, disabled))
	resp, _ = s.get(t, "/", nil, ptr("wsuser"), ptr("new-secret"))
	assert.Equal(t, 401, resp.StatusCode)
}

func TestPlainHTTPIsRefusedUnchecked(t *testing.T) {
	s := newSetup(t, false, nil)
	resp, body := s.get(t, "/", nil, ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 403, resp.StatusCode)
	assert.Contains(t, body, "HTTPS")
	resp, _ = s.get(t, "/?userName=wsuser&userPW=cluster-secret", nil, nil, nil)
	assert.Equal(t, 403, resp.StatusCode)
	assert.Zero(t, s.calls.Load(), "the credential is never checked")

	resp, _ = s.get(t, "/", map[string]string{"X-Forwarded-Proto": "https"}, ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 403, resp.StatusCode, "X-Forwarded-Proto is not trusted by default")

	trusting := newSetup(t, false, nil, auth.Config{Env: auth.Env{TrustForwarded: true}})
	resp, _ = trusting.get(t, "/", map[string]string{"X-Forwarded-Proto": "https"}, ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 200, resp.StatusCode)

	insecure := newSetup(t, false, nil, auth.Config{Env: auth.Env{AllowInsecure: true}})
	resp, _ = insecure.get(t, "/", nil, ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 200, resp.StatusCode)
}

func TestRedirectHTTPS(t *testing.T) {
	srv := httptest.NewServer(auth.RedirectHTTPS("8443"))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for method, code := range map[string]int{"GET": 301, "POST": 308} {
		req, _ := http.NewRequest(method, srv.URL+"/xcatws/nodes?pretty=1", nil)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, code, resp.StatusCode)
		assert.Equal(t, "https://127.0.0.1:8443/xcatws/nodes?pretty=1", resp.Header.Get("Location"))
	}
}

func TestThrottle(t *testing.T) {
	var store memstore.Store
	s := newSetup(t, true, func(c *basic.Config) {
		store = memstore.New()
		c.Passwords.Throttle = &pwcheck.Throttle{Counter: store, MaxPerAddr: 30, MaxPerUser: 5, Window: 5 * time.Minute}
		c.Passwords.ClientAddr = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	}, auth.Config{Responder: preset.ForemanDialect()})
	from := func(addr string) map[string]string { return map[string]string{"X-Test-Client": addr} }

	// Five wrong passwords for wsuser from one address lock wsuser.
	for range 5 {
		resp, _ := s.get(t, "/", from("10.0.0.1"), ptr("wsuser"), ptr("guess"))
		require.Equal(t, 401, resp.StatusCode)
	}
	before := s.slots.Stats().Started
	resp, body := s.get(t, "/", from("10.0.0.1"), ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 429, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"Too many tries, please try again in a few minutes."}}`, body)
	assert.Equal(t, "300", resp.Header.Get("Retry-After"))
	assert.Equal(t, before, s.slots.Stats().Started, "a throttled attempt is not hashed")
	// The lock is on the (user, address) pair: the real user elsewhere is
	// not locked out, and once cached, not even from the attacker's address.
	resp, _ = s.get(t, "/", from("10.0.0.3"), ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 200, resp.StatusCode, "the pair is locked, not the user")
	resp, _ = s.get(t, "/", from("10.0.0.1"), ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 200, resp.StatusCode, "a cached credential is never throttled")

	// Other users are never slowed, from this address or another.
	resp, _ = s.get(t, "/", from("10.0.0.1"), ptr("zoë"), ptr("pässwörd:with:colons"))
	assert.Equal(t, 200, resp.StatusCode)
	resp, _ = s.get(t, "/", from("10.0.0.2"), ptr("zoë"), ptr("pässwörd:with:colons"))
	assert.Equal(t, 200, resp.StatusCode)

	// Thirty failures from one address (spraying many users) block the address.
	for i := range 25 {
		resp, _ := s.get(t, "/", from("10.0.0.9"), ptr("user"+string(rune('a'+i))), ptr("guess"))
		require.Equal(t, 401, resp.StatusCode, i)
	}
	resp, _ = s.get(t, "/", from("10.0.0.9"), ptr("zoë"), ptr("pässwörd:with:colons"))
	assert.Equal(t, 200, resp.StatusCode, "25 failures: still under the address limit")
	for i := range 5 {
		s.get(t, "/", from("10.0.0.9"), ptr("user"+string(rune('A'+i))), ptr("guess"))
	}
	resp, _ = s.get(t, "/", from("10.0.0.9"), ptr("zoë"), ptr("another-guess"))
	assert.Equal(t, 429, resp.StatusCode)
	resp, _ = s.get(t, "/", from("10.0.0.9"), ptr("zoë"), ptr("pässwörd:with:colons"))
	assert.Equal(t, 200, resp.StatusCode, "zoë's cached credential passes even the blocked address")
	resp, _ = s.get(t, "/", from("10.0.0.10"), ptr("zoë"), ptr("another-guess"))
	assert.Equal(t, 401, resp.StatusCode, "another address is unaffected")

	// The window ends: everything is allowed again.
	store.SetClock(func() time.Time { return time.Now().Add(6 * time.Minute) })
	resp, _ = s.get(t, "/", from("10.0.0.1"), ptr("wsuser"), ptr("cluster-secret"))
	assert.Equal(t, 200, resp.StatusCode)
}

func TestThrottleNeverCountsStoreOutages(t *testing.T) {
	counter := memstore.New()
	cfg := basic.Config{Passwords: &pwcheck.Pipeline{Verifier: &pwcheck.StoreVerifier{Users: brokenStore{}}, Throttle: &pwcheck.Throttle{Counter: counter}}}
	a := basic.New(cfg)
	req := httptest.NewRequest("GET", "https://x/", nil)
	req.SetBasicAuth("wsuser", "pw")
	req.RemoteAddr = "10.1.1.1:1"
	_, err := a.Authenticate(req)
	assert.Equal(t, auth.ReasonUnavailable, auth.AsError(err).Reason)
	n, _, _ := counter.Failures(context.Background(), "user", "wsuser")
	assert.Zero(t, n)
}

type brokenStore struct{}

func (brokenStore) User(context.Context, string) (*stores.User, error) {
	return nil, io.ErrUnexpectedEOF
}

func TestRealClientsCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	s := newSetup(t, true, nil)
	run := func(args ...string) (string, string) {
		out, err := exec.Command(curl, append([]string{"-sk", "-w", "\n--status:%{http_code}"}, args...)...).Output()
		require.NoError(t, err)
		body, code, ok := strings.Cut(string(out), "\n--status:")
		require.True(t, ok, string(out))
		return strings.TrimRight(body, "\n"), code
	}
	body, code := run("--user", "wsuser:cluster-secret", s.srv.URL+"/api")
	assert.Equal(t, "200", code)
	assert.Equal(t, "basic:wsuser", body)
	_, code = run("--user", "zoë:pässwörd:with:colons", s.srv.URL+"/api")
	assert.Equal(t, "200", code, "curl splits on the first colon; the rest is the password")
	_, code = run("--user", "wsuser:wrong", s.srv.URL+"/api")
	assert.Equal(t, "401", code)
	body, code = run(s.srv.URL + "/xcatws/nodes?userName=wsuser&userPW=cluster-secret")
	assert.Equal(t, "200", code)
	assert.Equal(t, "query:wsuser", body)
	_, code = run(s.srv.URL + "/xcatws/nodes?userName=wsuser&userPW=wrong")
	assert.Equal(t, "401", code)
}

// Attack (leak): when another scheme won (here Basic), ?userName=…&userPW=…
// reached the handler, and its access log, unstripped.
func TestQueryStrippedWhenAnotherSchemeWins(t *testing.T) {
	s := newSetup(t, true, nil)
	resp, body := s.get(t, "/xcatws/nodes?userName=wsuser&userPW=hunter2&pretty=1", nil, ptr("wsuser"), ptr("cluster-secret"))
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "basic:wsuser", body)
	assert.Equal(t, "/xcatws/nodes?pretty=1", s.rec.lastURL.Load())
	assert.Empty(t, resp.Header.Get("Deprecation"), "the deprecation notice is for query logins")
}
