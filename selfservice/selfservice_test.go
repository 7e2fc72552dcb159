package selfservice_test

import (
	"context"
	"github.com/gatehouse/gatehouse/auth"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/selfservice"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

type site struct {
	*httptest.Server
	store  memstore.Store
	tokens *token.Service
	clock  *authtest.Clock
}

func newSite(t testing.TB) *site {
	store := authtest.Users(authtest.User{Login: "alice", Password: "alice-pw"}, authtest.User{Login: "bob", Password: "bob-pw"})
	clock := authtest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	store.SetClock(clock.Now)
	tokens := token.New(token.Config{Store: store, Users: store, Env: auth.Env{Now: clock.Now}})
	h := selfservice.New(selfservice.Config{Tokens: tokens, Passwords: pwcheck.New(pwcheck.Config{Users: store, Counter: store}),
		Users: store, Sessions: store,
		Env: auth.Env{Now: clock.Now},
	})
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return &site{Server: srv, store: store, tokens: tokens, clock: clock}
}

// browser is a client with a cookie jar that does not follow redirects.
func (s *site) browser() *http.Client {
	jar, _ := cookiejar.New(nil) // a client of its own: s.Client() is shared
	return &http.Client{Transport: s.Client().Transport, Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page GETs /ui/ and returns the body and the form's CSRF token.
func (s *site) page(t testing.TB, c *http.Client) (string, string) {
	t.Helper()
	res, err := c.Get(s.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no CSRF field in %s", b)
	}
	return string(b), m[1]
}

func (s *site) post(t testing.TB, c *http.Client, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func (s *site) signIn(t testing.TB, c *http.Client, user, pw string) string {
	t.Helper()
	_, csrf := s.page(t, c)
	res, body := s.post(t, c, "/ui/login", url.Values{"csrf": {csrf}, "username": {user}, "password": {pw}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in as %s: %d %s", user, res.StatusCode, body)
	}
	_, csrf = s.page(t, c)
	return csrf
}

var secretField = regexp.MustCompile(`id="secret" readonly value="([^"]+)"`)

func (s *site) create(t testing.TB, c *http.Client, csrf, name string) string {
	t.Helper()
	res, body := s.post(t, c, "/ui/tokens", url.Values{"csrf": {csrf}, "name": {name}}, nil)
	m := secretField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create %s: %d %s", name, res.StatusCode, body)
	}
	return m[1]
}

// TestSelfServiceFlow: sign in, create, the secret works once shown and is
// not shown again, revoke, it stops working; headers on every answer.
func TestSelfServiceFlow(t *testing.T) {
	s := newSite(t)
	c := s.browser()
	body, _ := s.page(t, c)
	if !strings.Contains(body, `<label for="username">`) || !strings.Contains(body, `<label for="password">`) {
		t.Errorf("the sign-in form lacks labels:\n%s", body)
	}
	csrf := s.signIn(t, c, "alice", "alice-pw")
	secret := s.create(t, c, csrf, "laptop")
	if _, err := s.tokens.Verify(context.Background(), secret, token.PrefixPAT, "pat"); err != nil {
		t.Fatalf("the shown secret does not work: %v", err)
	}
	body, _ = s.page(t, c)
	if strings.Contains(body, secret) || !strings.Contains(body, "laptop") {
		t.Errorf("after a reload the secret must be gone and the token listed:\n%s", body)
	}
	toks, _ := s.tokens.List(context.Background(), "alice", stores.TokenPAT)
	res, _ := s.post(t, c, "/ui/tokens/"+toks[0].ID+"/revoke", url.Values{"csrf": {csrf}}, nil)
	if res.StatusCode != http.StatusSeeOther || strings.Contains(res.Header.Get("Location"), secret) {
		t.Fatalf("revoke: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := s.tokens.Verify(context.Background(), secret, token.PrefixPAT, "pat"); err == nil {
		t.Error("a revoked token still works")
	}
	res, _ = c.Get(s.URL + "/ui/")
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store",
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if !strings.Contains(res.Header.Get(h), want) {
			t.Errorf("%s: %q", h, res.Header.Get(h))
		}
	}
	res.Body.Close()
	// Duplicate names: 422, nothing lost.
	s.create(t, c, csrf, "ci")
	if res, body := s.post(t, c, "/ui/tokens", url.Values{"csrf": {csrf}, "name": {"ci"}}, nil); res.StatusCode != 422 || !strings.Contains(body, "already have a token") {
		t.Errorf("duplicate name: %d", res.StatusCode)
	}
	// Sign out ends the session.
	s.post(t, c, "/ui/logout", url.Values{"csrf": {csrf}}, nil)
	if body, _ := s.page(t, c); !strings.Contains(body, "Sign in") || strings.Contains(body, "Your tokens") {
		t.Error("still signed in after signing out")
	}
}

// TestSelfServiceAttacks: each attack fails (and was possible without the
// check it names).
func TestSelfServiceAttacks(t *testing.T) {
	s := newSite(t)
	alice := s.browser()
	csrf := s.signIn(t, alice, "alice", "alice-pw")

	// CSRF: no token, a wrong token, a cross-site origin, a cross-site fetch.
	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
	}{
		"no token":          {url.Values{"name": {"x1"}}, nil},
		"wrong token":       {url.Values{"name": {"x2"}, "csrf": {strings.Repeat("A", 43)}}, nil},
		"other origin":      {url.Values{"name": {"x3"}, "csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
		"cross-site fetch":  {url.Values{"name": {"x4"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"same-site sibling": {url.Values{"name": {"x5"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
	} {
		if res, _ := s.post(t, alice, "/ui/tokens", tc.form, tc.header); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, res.StatusCode)
		}
	}
	if toks, _ := s.tokens.List(context.Background(), "alice", stores.TokenPAT); len(toks) != 0 {
		t.Errorf("a forged form created %d tokens", len(toks))
	}

	// Another user's token: 404, not revoked.
	bob := s.browser()
	bobCSRF := s.signIn(t, bob, "bob", "bob-pw")
	bobSecret := s.create(t, bob, bobCSRF, "bobs")
	bobToks, _ := s.tokens.List(context.Background(), "bob", stores.TokenPAT)
	if res, b := s.post(t, alice, "/ui/tokens/"+bobToks[0].ID+"/revoke", url.Values{"csrf": {csrf}}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("revoking bob's token as alice: %d, want 404 %s", res.StatusCode, b)
	}
	if _, err := s.tokens.Verify(context.Background(), bobSecret, token.PrefixPAT, "pat"); err != nil {
		t.Errorf("alice revoked bob's token: %v", err)
	}

	// Session fixation: a session id the attacker chose is not a session.
	fixed := s.browser()
	u, _ := url.Parse(s.URL + "/ui/")
	fixed.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_ui", Value: "attacker-chosen", Path: "/ui/"}})
	if body, _ := s.page(t, fixed); strings.Contains(body, "Your tokens") {
		t.Error("an invented session id signed in")
	}

	// A disabled user's session ends; so does one after a password change.
	require(t, s.store.PutUser(context.Background(), stores.User{Name: "bob", PasswordHash: mustHash(t, "bob-pw"), Disabled: true}))
	if body, _ := s.page(t, bob); strings.Contains(body, "Your tokens") {
		t.Error("a disabled user is still signed in")
	}
	require(t, s.store.PutUser(context.Background(), stores.User{Name: "alice", PasswordHash: mustHash(t, "new-pw")}))
	if body, _ := s.page(t, alice); strings.Contains(body, "Your tokens") {
		t.Error("the session outlived a password change")
	}

	// Idle sessions end.
	carol := s.browser()
	authtest.PutUser(t, s.store, authtest.User{Login: "carol", Password: "carol-pw"})
	s.signIn(t, carol, "carol", "carol-pw")
	s.clock.Add(31 * time.Minute) // session.Config's default idle timeout, the API's too
	if body, _ := s.page(t, carol); strings.Contains(body, "Your tokens") {
		t.Error("a session idle for 31 minutes is still signed in")
	}

	// Wrong passwords: 401 and the throttle.
	mallory := s.browser()
	_, mcsrf := s.page(t, mallory)
	var last int
	for range 12 {
		res, _ := s.post(t, mallory, "/ui/login", url.Values{"csrf": {mcsrf}, "username": {"carol"}, "password": {"guess"}}, nil)
		last = res.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after 12 wrong passwords: %d, want 429", last)
	}
}

func require(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustHash(t *testing.T, pw string) string {
	h, err := authtest.CheapHasher.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSelfServiceBasic: HTTP Basic signs in too (for scripts and browsers'
// own prompts), and a wrong Basic password shows the sign-in form.
func TestSelfServiceBasic(t *testing.T) {
	s := newSite(t)
	req, _ := http.NewRequest("GET", s.URL+"/ui/", nil)
	req.SetBasicAuth("alice", "alice-pw")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "Your tokens") {
		t.Errorf("Basic did not sign in: %d", res.StatusCode)
	}
	req.SetBasicAuth("alice", "wrong")
	res, _ = s.Client().Do(req)
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(b), "Your tokens") {
		t.Error("a wrong Basic password signed in")
	}
}

// FuzzSelfServiceForms: any form a signed-in browser posts gets a page
// with a 2xx, 3xx or 4xx status, never a 5xx or a panic.
func FuzzSelfServiceForms(f *testing.F) {
	f.Add("/ui/tokens", "laptop", "2027-01-01", "")
	f.Add("/ui/tokens", "", "yesterday", "")
	f.Add("/ui/tokens/../x/revoke", "\x00", "9999-99-99", "%zz")
	f.Add("/ui/login", strings.Repeat("é", 300), "", "a=b&c")
	s := newSite(f)
	c := s.browser()
	csrf := s.signIn(f, c, "alice", "alice-pw")
	f.Fuzz(func(t *testing.T, path, name, expires, extra string) {
		if !strings.HasPrefix(path, "/") {
			return
		}
		body := url.Values{"csrf": {csrf}, "name": {name}, "expires": {expires}}.Encode() + "&" + extra
		req, err := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			return
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s name=%q expires=%q extra=%q: %d", path, name, expires, extra, res.StatusCode)
		}
	})
}
