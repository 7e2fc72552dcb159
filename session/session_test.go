package session_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/memstore"
)

type env struct {
	store memstore.Store
	clk   *authtest.Clock
	srv   *httptest.Server
	m     *session.Manager
}

func newEnv(t *testing.T, mutate func(*session.Config)) *env {
	t.Helper()
	e := &env{clk: authtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
	e.store = authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"}, authtest.User{Login: "other@internal", Password: "o"})
	e.store.SetClock(e.clk.Now)
	inner := basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: authtest.Verifier(t, e.store)}, Realm: "RESTAPI"})
	cfg := session.Config{Store: e.store, Users: e.store, Path: "/ovirt-engine/api", Env: auth.Env{Now: e.clk.Now}}
	if mutate != nil {
		mutate(&cfg)
	}
	e.m = session.New(cfg, inner)
	mw := auth.Middleware(e.m, auth.Config{})
	mux := http.NewServeMux()
	mux.Handle("DELETE /ovirt-engine/api/session", mw(e.m.Logout()))
	mux.Handle("/ovirt-engine/api/", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		io.WriteString(w, id.Scheme+":"+id.Login()+":"+id.Attrs[session.AttrAuthScheme])
	})))
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *e.srv.Client() // a copy: the server's client is shared
	c.Jar = jar
	return &c
}

type call struct {
	method, path, user, pw string
	hdr                    map[string]string
}

func (e *env) do(t *testing.T, c *http.Client, k call) (*http.Response, string) {
	t.Helper()
	if k.method == "" {
		k.method = "GET"
	}
	if k.path == "" {
		k.path = "/ovirt-engine/api/vms"
	}
	req, _ := http.NewRequest(k.method, e.srv.URL+k.path, nil)
	if k.user != "" {
		req.SetBasicAuth(k.user, k.pw)
	}
	for h, v := range k.hdr {
		req.Header.Set(h, v)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var persist = map[string]string{"Prefer": "persistent-auth"}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "JSESSIONID" {
			return c
		}
	}
	return nil
}

func TestThreeSteps(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	// 1. Log in with Basic and ask for a session.
	resp, body := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "basic:admin@internal:", body)
	ck := sessionCookie(resp)
	require.NotNil(t, ck)
	assert.True(t, ck.Secure)
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, "/ovirt-engine/api", ck.Path)
	assert.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	assert.Len(t, ck.Value, 43)

	// 2. The cookie alone authenticates while persistent-auth is asked.
	for range 3 {
		resp, body = e.do(t, c, call{hdr: persist})
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "session:admin@internal:basic", body)
	}
	// Several preferences in one header (RFC 7240).
	resp, _ = e.do(t, c, call{hdr: map[string]string{"Prefer": "return=minimal, persistent-auth"}})
	assert.Equal(t, 200, resp.StatusCode)

	// 3. Without the preference the request is served, then the session ends.
	resp, body = e.do(t, c, call{})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "session:admin@internal:basic", body)
	cleared := sessionCookie(resp)
	require.NotNil(t, cleared)
	assert.Equal(t, -1, cleared.MaxAge)
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode)

	// The session id is stored only hashed.
	_, err := e.store.SessionByHash(context.Background(), ck.Value)
	assert.ErrorIs(t, err, stores.ErrNotFound)
}

func TestLogoutAndFixation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	resp, _ := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	first := sessionCookie(resp).Value

	// A fresh login gets a fresh id; the old session ends.
	resp, _ = e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: map[string]string{"Prefer": "persistent-auth, new-auth"}})
	second := sessionCookie(resp)
	require.NotNil(t, second)
	assert.NotEqual(t, first, second.Value)
	plain := &http.Client{Transport: e.srv.Client().Transport}
	resp, _ = e.do(t, plain, call{hdr: map[string]string{"Prefer": "persistent-auth", "Cookie": "JSESSIONID=" + first}})
	assert.Equal(t, 401, resp.StatusCode, "the replaced session is gone")

	// A client-chosen id is never adopted.
	chosen := strings.Repeat("A", 43)
	resp, _ = e.do(t, plain, call{user: "admin@internal", pw: "ovirt-pw", hdr: map[string]string{"Prefer": "persistent-auth", "Cookie": "JSESSIONID=" + chosen}})
	require.Equal(t, 200, resp.StatusCode)
	assert.NotEqual(t, chosen, sessionCookie(resp).Value)
	resp, _ = e.do(t, plain, call{hdr: map[string]string{"Prefer": "persistent-auth", "Cookie": "JSESSIONID=" + chosen}})
	assert.Equal(t, 401, resp.StatusCode)
	assert.Equal(t, -1, sessionCookie(resp).MaxAge, "a dead cookie is cleared")

	// Logout.
	resp, body := e.do(t, c, call{method: "DELETE", path: "/ovirt-engine/api/session", hdr: persist})
	assert.Equal(t, 204, resp.StatusCode, body)
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode)
	assert.Equal(t, []string{`Basic realm="RESTAPI", charset="UTF-8"`}, resp.Header.Values("WWW-Authenticate"))
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	resp, _ := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	require.NotNil(t, sessionCookie(resp))
	// Idle: used every 20 minutes, the session lives on.
	for range 5 {
		e.clk.Add(20 * time.Minute)
		resp, _ = e.do(t, c, call{hdr: persist})
		require.Equal(t, 200, resp.StatusCode)
	}
	e.clk.Add(31 * time.Minute)
	resp, body := e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode)
	assert.Contains(t, body, "session expired")

	// Absolute: 8 hours however busy.
	resp, _ = e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	require.NotNil(t, sessionCookie(resp))
	for range 16 {
		e.clk.Add(29 * time.Minute)
		resp, _ = e.do(t, c, call{hdr: persist})
		require.Equal(t, 200, resp.StatusCode)
	}
	e.clk.Add(29 * time.Minute)
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode)
}

func TestSessionTTL(t *testing.T) {
	e := newEnv(t, func(c *session.Config) { c.MaxIdleTimeout = 2 * time.Hour })
	c := e.client(t)
	resp, _ := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: map[string]string{"Prefer": "persistent-auth", "Session-TTL": "90"}})
	require.NotNil(t, sessionCookie(resp))
	e.clk.Add(80 * time.Minute)
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 200, resp.StatusCode, "90-minute idle timeout")

	resp, _ = e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: map[string]string{"Prefer": "persistent-auth, new-auth", "Session-TTL": "100000"}})
	require.NotNil(t, sessionCookie(resp))
	e.clk.Add(2*time.Hour + time.Minute)
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode, "bounded by the server maximum")
}

func TestUserChangesEndSessions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	authtest.PutUser(t, e.store, authtest.User{Login: "admin@internal", Password: "new-pw"})
	resp, _ := e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode, "password change")

	e.do(t, c, call{user: "admin@internal", pw: "new-pw", hdr: persist})
	authtest.PutUser(t, e.store, authtest.User{Login: "admin@internal", Password: "new-pw", Disabled: true})
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 401, resp.StatusCode, "disabled")
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	resp, _ := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: map[string]string{"Prefer": "persistent-auth, csrf-protection"}})
	id := sessionCookie(resp).Value
	resp, _ = e.do(t, c, call{hdr: persist})
	assert.Equal(t, 403, resp.StatusCode, "csrf-protection needs the id echoed")
	resp, _ = e.do(t, c, call{hdr: map[string]string{"Prefer": "persistent-auth", "JSESSIONID": id}})
	assert.Equal(t, 200, resp.StatusCode)

	h := newEnv(t, func(c *session.Config) { c.CSRFHeader = "X-Requested-With" })
	hc := h.client(t)
	h.do(t, hc, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	resp, _ = h.do(t, hc, call{hdr: persist})
	assert.Equal(t, 200, resp.StatusCode, "safe methods pass")
	resp, _ = h.do(t, hc, call{method: "POST", hdr: persist})
	assert.Equal(t, 403, resp.StatusCode)
	resp, _ = h.do(t, hc, call{method: "POST", hdr: map[string]string{"Prefer": "persistent-auth", "X-Requested-With": "gatehouse"}})
	assert.Equal(t, 200, resp.StatusCode)
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	resp, _ := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	require.NotNil(t, sessionCookie(resp))
	var wg sync.WaitGroup
	errs := make(chan string, 256)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 16 {
				e.clk.Add(time.Second * time.Duration(g%2))
				req, _ := http.NewRequest("GET", e.srv.URL+"/ovirt-engine/api/vms", nil)
				req.Header.Set("Prefer", "persistent-auth")
				resp, err := c.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- resp.Status
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestCurlCookieJar(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	e := newEnv(t, nil)
	jar := filepath.Join(t.TempDir(), "jar")
	run := func(args ...string) string {
		out, err := exec.Command(curl, append([]string{"-sk", "-c", jar, "-b", jar, "-w", " %{http_code}"}, args...)...).Output()
		require.NoError(t, err)
		return string(out)
	}
	u := e.srv.URL + "/ovirt-engine/api/vms"
	assert.Equal(t, "basic:admin@internal: 200", run("--user", "admin@internal:ovirt-pw", "-H", "Prefer: persistent-auth", u))
	raw, err := os.ReadFile(jar)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "JSESSIONID")
	assert.Equal(t, "session:admin@internal:basic 200", run("-H", "Prefer: persistent-auth", u))
	assert.Equal(t, "session:admin@internal:basic 200", run(u), "the last request of the session")
	assert.Contains(t, run("-H", "Prefer: persistent-auth", u), " 401")
}

func TestNoSessionForNonUsers(t *testing.T) {
	st := memstore.New()
	ext := auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
		return &auth.Identity{User: "foreman_api_admin", Scheme: "oauth1"}, nil
	})
	m := session.New(session.Config{Store: st, Users: st}, ext)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://x/", nil)
	req.Header.Set("Prefer", "persistent-auth")
	auth.Middleware(m, auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, req)
	assert.Equal(t, 200, rec.Code)
	assert.Empty(t, rec.Result().Cookies())
	assert.Contains(t, rec.Header().Get("Warning"), "no session")
}
