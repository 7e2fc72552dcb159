package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/internal/certserial"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// asUser authenticates every request as the user named in X-User.
var asUser = auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
	if u := r.Header.Get("X-User"); u != "" {
		return &auth.Identity{User: u, Scheme: "test"}, nil
	}
	return nil, auth.ErrNoCredentials
})

func ruleServer(t *testing.T, rules []auth.Rule, h http.Handler) *httptest.Server {
	return ruleServerConfig(t, rules, h, auth.Config{})
}

// ruleServerConfig is ruleServer with cfg (its Policy is the rules).
func ruleServerConfig(t *testing.T, rules []auth.Rule, h http.Handler, cfg auth.Config) *httptest.Server {
	t.Helper()
	st := memstore.New()
	require.NoError(t, st.SetRules(context.Background(), rules))
	cfg.Policy = auth.RuleTable{Store: st}
	srv := httptest.NewTLSServer(auth.Middleware(asUser, cfg)(h))
	t.Cleanup(srv.Close)
	return srv
}

func rawGet(t *testing.T, srv *httptest.Server, method, rawPath, user string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/", nil)
	require.NoError(t, err)
	req.URL.Opaque = "" // send the path exactly as written
	req.URL.RawPath, req.URL.Path = "", ""
	req.URL.Opaque = "//" + req.URL.Host + rawPath
	req.Header.Set("X-User", user)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Attack: with "deny /api/admin/*" for bob and a ServeMux route
// "GET /api/admin/{id}", GET /api/admin/1%2Fx reached the handler: the rule
// matched the decoded path (four segments), ServeMux the escaped one (three).
// With Config.AllowEncodedSeparators the rules see one segment, as ServeMux does.
func TestPolicyEncodedSlash(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/admin/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin "+r.PathValue("id")) })
	rules := []auth.Rule{
		{Priority: 1, Subject: "bob", Path: "/api/admin/*", Verdict: auth.Deny},
		{Priority: 2, Subject: "*", Verdict: auth.Allow},
	}
	srv := ruleServerConfig(t, rules, mux, auth.Config{AllowEncodedSeparators: true})
	status, body := rawGet(t, srv, "GET", "/api/admin/1", "bob")
	assert.Equal(t, 403, status, body)
	status, body = rawGet(t, srv, "GET", "/api/admin/1%2Fx", "bob")
	assert.Equal(t, 403, status, body)
	assert.NotContains(t, body, "admin 1/x")
	status, _ = rawGet(t, srv, "GET", "/api/admin/1%2Fx", "alice")
	assert.Equal(t, 200, status, "an encoded slash is allowed where the policy allows")
}

// Attack: with "deny /api/admin/**", GET /api/admin%2f1 passed (the rules
// saw one segment "admin%2f1") and an upstream that decodes %2F (Flask,
// Express, an nginx-routed service) acted on /api/admin/1. By default an
// encoded separator in a segment is refused with 400, for every user.
func TestPolicyEncodedSeparatorRefused(t *testing.T) {
	reached := false
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
	srv := ruleServer(t, []auth.Rule{
		{Priority: 1, Subject: "*", Path: "/api/admin/**", Verdict: auth.Deny},
		{Priority: 2, Subject: "*", Verdict: auth.Allow},
	}, h)
	// Path parameters, which Java servers strip before they route (found by
	// an outside review: /api/admin;x=1/x passed the deny).
	for _, p := range []string{"/api/admin%2f1", "/api/admin%2F1", "/api/admin%5c1", "/api/admin%5C1", "/api/admin%001", "/api/x/admin%2f..%2f1",
		"/api/admin;x=1/x", "/api/public/..;/admin/x", "/api/admin%3Bx=1/1", "/api/admin%3b/1"} {
		status, body := rawGet(t, srv, "GET", p, "bob")
		assert.Equal(t, 400, status, "%s: %s", p, body)
	}
	status, _ := rawGet(t, srv, "GET", "/api/status", "bob")
	assert.Equal(t, 200, status)
	assert.True(t, reached)
	status, _ = rawGet(t, srv, "GET", "/api/admin/1", "bob")
	assert.Equal(t, 403, status)
}

// Attack (found by an outside review): POST judged by the rules, run as
// DELETE by a framework that honours X-HTTP-Method-Override (Rails'
// Rack::MethodOverride under Foreman). An override naming another method
// is refused with 400; one naming the request's own method is harmless.
func TestMethodOverrideRefused(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	srv := ruleServer(t, []auth.Rule{
		{Priority: 1, Subject: "*", Methods: []string{"DELETE"}, Verdict: auth.Deny},
		{Priority: 2, Subject: "*", Verdict: auth.Allow},
	}, h)
	for _, hdr := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "x-http-method-override"} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/hosts/1", nil)
		req.Header.Set("X-User", "bob")
		req.Header.Set(hdr, "DELETE")
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 400, res.StatusCode, hdr)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/hosts/1", nil)
	req.Header.Set("X-User", "bob")
	req.Header.Set("X-HTTP-Method-Override", "post")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode, "an override naming the request's own method")
}

// Attack: with "allow /pub/**" and "deny *", /pub/../secret/key and its
// %2e%2e forms were allowed, and an http.FileServer wrapped directly then
// served the secret.
func TestPolicyDotSegments(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pub"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "secret"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pub", "readme"), []byte("public"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret", "key"), []byte("TOP-SECRET"), 0o644))
	srv := ruleServer(t, []auth.Rule{
		{Priority: 1, Subject: "*", Path: "/pub/**", Verdict: auth.Allow},
		{Priority: 2, Subject: "*", Verdict: auth.Deny},
	}, http.FileServer(http.Dir(dir)))
	status, body := rawGet(t, srv, "GET", "/pub/readme", "bob")
	assert.Equal(t, 200, status)
	assert.Equal(t, "public", body)
	for _, p := range []string{"/pub/../secret/key", "/pub/%2e%2e/secret/key", "/pub/%2E%2E/secret/key", "/pub/..%2fsecret/key",
		"/pub/./../secret/key", "/pub//../secret/key", "/pub/.%2e/secret/key"} {
		status, body := rawGet(t, srv, "GET", p, "bob")
		assert.Equal(t, 400, status, p)
		assert.NotContains(t, body, "TOP-SECRET", p)
	}
}

// Attack: "**" backtracked without memoisation: rule /**/admin/**/delete
// and one 59 KiB URL cost 6 s of CPU. The matcher is now linear; and a
// request with more than MaxPathSegments segments is refused outright.
func TestPolicyMatchingIsLinear(t *testing.T) {
	long := "/" + strings.Repeat("admin/", 10_000) + "x"
	done := make(chan bool, 1)
	go func() { done <- auth.MatchPath("/**/admin/**/delete", long) }()
	select {
	case got := <-done:
		assert.False(t, got)
	case <-time.After(5 * time.Second): // a generous bound: before the fix this took minutes
		t.Fatal("matching a long path did not finish")
	}
	srv := ruleServer(t, []auth.Rule{{Priority: 1, Subject: "*", Path: "/**/admin/**/delete", Verdict: auth.Deny}, {Priority: 2, Subject: "*", Verdict: auth.Allow}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	status, _ := rawGet(t, srv, "GET", "/"+strings.Repeat("a/", auth.MaxPathSegments+1), "bob")
	assert.Equal(t, 400, status)
}

func BenchmarkMatchPath64KiB(b *testing.B) {
	long := "/" + strings.Repeat("admin/", 64<<10/6)
	b.SetBytes(int64(len(long)))
	for b.Loop() {
		auth.MatchPath("/**/admin/**/delete", long)
	}
}

// Attack: ServeMux serves HEAD with GET handlers, so a rule denying GET let
// HEAD through (and HEAD answers leak existence, sizes and headers).
func TestPolicyHeadIsGet(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/secret", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret", "42")
	})
	srv := ruleServer(t, []auth.Rule{
		{Priority: 1, Subject: "bob", Methods: []string{"GET"}, Path: "/api/secret", Verdict: auth.Deny},
		{Priority: 2, Subject: "*", Verdict: auth.Allow},
	}, mux)
	for _, m := range []string{"GET", "HEAD"} {
		status, _ := rawGet(t, srv, m, "/api/secret", "bob")
		assert.Equal(t, 403, status, m)
	}
	status, _ := rawGet(t, srv, "HEAD", "/api/secret", "alice")
	assert.Equal(t, 200, status)
}

// Attack: an authenticator without a Detector (or a user's wrapper around
// one) accepted credentials over plain HTTP.
func TestPlainHTTPRefusalFailsClosed(t *testing.T) {
	type wrapped struct{ auth.Authenticator }
	reached := false
	h := auth.Middleware(wrapped{asUser}, auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://api.example/", nil)
	req.Header.Set("X-User", "alice")
	h.ServeHTTP(rec, req)
	assert.Equal(t, 403, rec.Code)
	assert.False(t, reached)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://api.example/", nil))
	assert.Equal(t, 401, rec.Code, "no credential over HTTP: the usual 401")
}

// Attack: with Bearer first and Basic second, two Authorization headers
// were accepted (each scheme read "its" header).
func TestDuplicateAuthorizationRefused(t *testing.T) {
	h := auth.Middleware(asUser, auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://api.example/", nil)
	req.Header.Set("X-User", "alice")
	req.Header.Add("Authorization", "Bearer abc")
	req.Header.Add("Authorization", "Basic YTpi")
	h.ServeHTTP(rec, req)
	assert.Equal(t, 400, rec.Code)
}

// Attack: RedirectHTTPS copied userPW into a cacheable 301 Location.
func TestRedirectHTTPSDropsCredentials(t *testing.T) {
	rec := httptest.NewRecorder()
	auth.RedirectHTTPS("8443").ServeHTTP(rec, httptest.NewRequest("GET", "http://host.example/xcatws/nodes?userName=root&userPW=hunter2&password=x&access_token=t&oauth_signature=s&pretty=1", nil))
	assert.Equal(t, 301, rec.Code)
	loc := rec.Header().Get("Location")
	assert.Equal(t, "https://host.example:8443/xcatws/nodes?pretty=1", loc)
	assert.NotContains(t, loc, "hunter2")
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
}

// A successful login against a legacy hash (bcrypt here) upgrades it to
// argon2id without counting as a password change.
func TestLegacyHashUpgradedOnLogin(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	legacy, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "u", PasswordHash: string(legacy)}))
	before, _ := st.User(ctx, "u")
	v := &pwcheck.StoreVerifier{Users: st}
	_, err = v.VerifyPassword(ctx, "u", "wrong")
	require.Error(t, err)
	u, _ := st.User(ctx, "u")
	assert.Equal(t, string(legacy), u.PasswordHash, "a failed login changes nothing")
	_, err = v.VerifyPassword(ctx, "u", "right")
	require.NoError(t, err)
	u, _ = st.User(ctx, "u")
	assert.Equal(t, "argon2id", password.Format(u.PasswordHash))
	assert.True(t, u.Updated.Equal(before.Updated), "a rehash is no change of the user")
	assert.True(t, u.PasswordChanged.Equal(before.PasswordChanged), "nor of the password")
	_, err = v.VerifyPassword(ctx, "u", "right")
	assert.NoError(t, err, "the new hash verifies")
}

func FuzzNormalizeSerial(f *testing.F) {
	for _, s := range []string{"serial=0A1B", "0a:1b", "0x00ff", "", "zz", "serial=", strings.Repeat("f", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := certserial.Normalize(s)
		if err != nil {
			return
		}
		again, err := certserial.Normalize(n)
		if err != nil || again != n {
			t.Fatalf("normal form %q of %q does not normalise to itself (%q, %v)", n, s, again, err)
		}
		if n != strings.ToLower(n) || len(n) > 1 && n[0] == '0' {
			t.Fatalf("%q is not lower-case hex without leading zeros", n)
		}
	})
}

func FuzzCheckPath(f *testing.F) {
	for _, p := range []string{"/api/vms", "/pub/../x", "/pub/%2e%2e/x", "/a/..%2fb", "//x", "/a%2Fb/c", "/%zz"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.NewRequest("GET", "https://h.example"+raw, nil)
		if err != nil || req.URL.Host != "h.example" {
			return
		}
		if auth.CheckPath(req) != nil {
			return
		}
		// Whatever passes resolves to itself: no dot segment left for
		// path.Clean or a file server to climb out with, no empty segment
		// for a handler to collapse.
		for seg := range strings.SplitSeq(req.URL.Path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q passed with dot segments in %q", raw, req.URL.Path)
			}
		}
		if strings.Contains(req.URL.EscapedPath(), "//") {
			t.Fatalf("%q passed with an empty segment", raw)
		}
		_ = auth.MatchPath("/**/a/*/b/**", req.URL.Path)
	})
}

// Attack: a path with a leading or trailing "//" passed CheckPath ("//"
// reached the handler). The rule table happened to deny "//api/admin/1",
// but an empty segment means one thing to the rules and another to a
// handler that collapses slashes (a gateway's upstream, chi, a file
// server), so such paths are refused like dot segments: 400, at any place.
func TestPolicyDoubleSlash(t *testing.T) {
	collapse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "reached "+r.URL.Path)
	})
	srv := ruleServer(t, []auth.Rule{
		{Priority: 1, Subject: "bob", Path: "/api/admin/*", Verdict: auth.Deny},
		{Priority: 2, Subject: "*", Verdict: auth.Allow},
	}, collapse)
	for _, p := range []string{"//api/admin/1", "/api/admin/1//", "///api/admin/1", "//", "/api//admin/1"} {
		status, body := rawGet(t, srv, "GET", p, "bob")
		assert.Equal(t, 400, status, "%s: %s", p, body)
	}
	status, body := rawGet(t, srv, "GET", "/", "bob")
	assert.Equal(t, 200, status, body)
}
