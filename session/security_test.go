package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

type tokenEnv struct {
	store memstore.Store
	clk   *authtest.Clock
	svc   *token.Service
	srv   *httptest.Server
}

func newTokenEnv(t *testing.T, withTokens bool) *tokenEnv {
	e := &tokenEnv{clk: authtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
	e.store = authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	e.store.SetClock(e.clk.Now)
	e.svc = token.New(token.Config{Store: e.store, Users: e.store, AccessTTL: 10 * time.Minute, Env: auth.Env{Now: e.clk.Now}})
	cfg := session.Config{Store: e.store, Users: e.store, Env: auth.Env{Now: e.clk.Now}}
	if withTokens {
		cfg.Tokens = e.svc
	}
	m := session.New(cfg, token.XAuthToken(e.svc.AccessTokens()))
	e.srv = httptest.NewTLSServer(auth.Middleware(m, auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEnv) get(t *testing.T, hdr map[string]string, cookie *http.Cookie) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func (e *tokenEnv) login(t *testing.T) (token.Issued, *http.Cookie) {
	t.Helper()
	issued, err := e.svc.IssueAccess(context.Background(), &auth.Identity{User: "admin", Domain: "internal"}, nil)
	require.NoError(t, err)
	resp := e.get(t, map[string]string{"X-Auth-Token": issued.Secret, "Prefer": "persistent-auth"}, nil)
	require.Equal(t, 200, resp.StatusCode)
	ck := sessionCookie(resp)
	require.NotNil(t, ck)
	return issued, ck
}

// Attack: a token plus "Prefer: persistent-auth" gave a session of up to 8
// hours that outlived the token's revocation and its expiry (a 10-minute
// token still worked as a session after 2 hours).
func TestSessionEndsWithItsToken(t *testing.T) {
	e := newTokenEnv(t, true)
	keep := map[string]string{"Prefer": "persistent-auth"}

	issued, ck := e.login(t)
	assert.Equal(t, 200, e.get(t, keep, ck).StatusCode, "the session works")
	require.NoError(t, e.svc.Revoke(context.Background(), "", issued.Token.ID))
	assert.Equal(t, 401, e.get(t, keep, ck).StatusCode, "revoking the token ends the session")

	_, ck = e.login(t)
	e.clk.Add(9 * time.Minute)
	assert.Equal(t, 200, e.get(t, keep, ck).StatusCode)
	e.clk.Add(2 * time.Minute) // the token expired; the session's idle time has not
	assert.Equal(t, 401, e.get(t, keep, ck).StatusCode, "the session ends at the token's expiry")
	e.clk.Add(2 * time.Hour)
	assert.Equal(t, 401, e.get(t, keep, ck).StatusCode)
}

// Without a way to re-check tokens, a token login gets no session at all.
func TestNoTokenSessionWithoutChecker(t *testing.T) {
	e := newTokenEnv(t, false)
	issued, err := e.svc.IssueAccess(context.Background(), &auth.Identity{User: "admin", Domain: "internal"}, nil)
	require.NoError(t, err)
	resp := e.get(t, map[string]string{"X-Auth-Token": issued.Secret, "Prefer": "persistent-auth"}, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Nil(t, sessionCookie(resp))
	assert.Contains(t, resp.Header.Get("Warning"), "no session")
}

// Attack: a session outlived its account: the user was deleted and created
// again under the same login.
func TestSessionEndsWithItsAccount(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t)
	resp, _ := e.do(t, c, call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
	ck := sessionCookie(resp)
	require.NotNil(t, ck)
	u, _ := e.store.User(context.Background(), "admin@internal")
	require.NoError(t, e.store.DeleteUser(context.Background(), "admin@internal"))
	recreated := *u
	require.NoError(t, e.store.PutUser(context.Background(), recreated))
	resp, _ = e.do(t, e.client(t), call{hdr: map[string]string{"Prefer": "persistent-auth", "Cookie": "JSESSIONID=" + ck.Value}})
	assert.Equal(t, 401, resp.StatusCode)
}

// Attack: behind a TLS-terminating proxy (TrustForwarded) the session
// cookie lost its Secure attribute, so a browser or client would send it
// over plain HTTP.
func TestCookieSecureBehindProxy(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin", Password: "pw"})
	inner := auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
		if r.Header.Get("X-Test-User") == "" {
			return nil, auth.ErrNoCredentials
		}
		return &auth.Identity{User: "admin", Scheme: "test"}, nil
	})
	m := session.New(session.Config{Store: st, Users: st}, inner)
	h := auth.Middleware(m, auth.Config{Env: auth.Env{TrustForwarded: true}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "http://backend:8080/api", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Test-User", "admin")
	req.Header.Set("Prefer", "persistent-auth")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	ck := sessionCookie(rec.Result())
	require.NotNil(t, ck)
	assert.True(t, ck.Secure)
}

// Attack (failed before the fix: 200 live sessions): 200 concurrent Basic
// logins with Prefer: persistent-auth by one user. The live sessions of a
// login are capped (DefaultMaxPerUser), the oldest deleted first.
func TestSessionsPerUserCapped(t *testing.T) {
	e := newEnv(t, nil)
	const logins = 200
	ids := make(chan string, logins)
	var wg sync.WaitGroup
	for range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := e.do(t, e.srv.Client(), call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
			if c := sessionCookie(resp); c != nil {
				ids <- c.Value
			}
		}()
	}
	wg.Wait()
	close(ids)
	made, live := 0, 0
	for id := range ids {
		made++
		if _, err := e.store.SessionByHash(context.Background(), session.HashID(id)); err == nil {
			live++
		}
	}
	if made != logins {
		t.Fatalf("%d of %d logins got a session", made, logins)
	}
	if live > session.DefaultMaxPerUser || live == 0 {
		t.Errorf("%d live sessions of one user after %d logins, want 1..%d", live, logins, session.DefaultMaxPerUser)
	}
	// Sequential logins keep exactly the newest.
	e2 := newEnv(t, func(c *session.Config) { c.MaxPerUser = 3 })
	var last []string
	for range 10 {
		resp, _ := e2.do(t, e2.srv.Client(), call{user: "admin@internal", pw: "ovirt-pw", hdr: persist})
		last = append(last, sessionCookie(resp).Value)
		e2.clk.Add(time.Second)
	}
	for i, id := range last {
		_, err := e2.store.SessionByHash(context.Background(), session.HashID(id))
		if want := i >= len(last)-3; want != (err == nil) {
			t.Errorf("session %d live %v, want %v", i, err == nil, want)
		}
	}
}
