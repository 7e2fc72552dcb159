package auth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// headerAuth is a tiny real Authenticator for tests: "X-Test-User: name"
// authenticates name unless it is "bad"; it offers its own challenge.
type headerAuth struct {
	header, scheme string
}

func (h headerAuth) Authenticate(r *http.Request) (*auth.Result, error) {
	id, err := h.identity(r)
	if err != nil {
		return nil, err
	}
	return &auth.Result{Identity: id}, nil
}

func (h headerAuth) identity(r *http.Request) (*auth.Identity, error) {
	v := r.Header.Get(h.header)
	switch v {
	case "":
		return nil, auth.ErrNoCredentials
	case "bad":
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: h.scheme, User: "bad"}
	case "expired":
		return nil, &auth.Error{Reason: auth.ReasonExpired, Scheme: h.scheme}
	case "throttled":
		return nil, &auth.Error{Reason: auth.ReasonThrottled, Scheme: h.scheme, RetryAfter: 1500 * time.Millisecond}
	case "garbled":
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: h.scheme, Message: "header is garbled"}
	case "storedown":
		return nil, errors.New("connection refused: hunter2-db:5432")
	}
	return &auth.Identity{User: v, Scheme: h.scheme, Groups: []string{"staff"}}, nil
}

func (h headerAuth) Challenges() []string { return []string{h.scheme + ` realm="test"`} }

var (
	first  = headerAuth{header: "X-First", scheme: "First"}
	second = headerAuth{header: "X-Second", scheme: "Second"}
)

func whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.IdentityFrom(r.Context())
	if !ok {
		io.WriteString(w, "anonymous")
		return
	}
	io.WriteString(w, id.Scheme+":"+id.Login())
}

func do(t *testing.T, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestChainOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(auth.Middleware(auth.Chain(first, second), auth.Config{})(http.HandlerFunc(whoami)))
	defer srv.Close()

	cases := []struct {
		name       string
		hdr        map[string]string
		status     int
		body       string
		challenges []string
		reason     string
	}{
		{"first wins", map[string]string{"X-First": "alice", "X-Second": "bob"}, 200, "First:alice", nil, ""},
		{"second when first absent", map[string]string{"X-Second": "bob"}, 200, "Second:bob", nil, ""},
		{"wrong first never falls through", map[string]string{"X-First": "bad", "X-Second": "bob"}, 401, "", []string{`First realm="test"`, `Second realm="test"`}, "invalid"},
		{"no credentials: a challenge per scheme", nil, 401, "", []string{`First realm="test"`, `Second realm="test"`}, "missing"},
		{"expired", map[string]string{"X-Second": "expired"}, 401, "", []string{`First realm="test"`, `Second realm="test"`}, "expired"},
		{"malformed is 400", map[string]string{"X-First": "garbled"}, 400, "", nil, "malformed"},
		{"throttled is 429", map[string]string{"X-First": "throttled"}, 429, "", nil, "throttled"},
		{"store failure is 503, never leaked", map[string]string{"X-First": "storedown"}, 503, "", nil, "unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, srv, "GET", "/x", c.hdr)
			assert.Equal(t, c.status, resp.StatusCode)
			assert.Equal(t, c.challenges, resp.Header.Values("WWW-Authenticate"))
			if c.status == 200 {
				assert.Equal(t, c.body, body)
				return
			}
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			var p httpx.Problem
			require.NoError(t, json.Unmarshal([]byte(body), &p), body)
			assert.Equal(t, c.status, p.Status)
			assert.Equal(t, http.StatusText(c.status), p.Title)
			assert.Equal(t, "about:blank", p.Type)
			assert.Equal(t, c.reason, string(p.Reason))
			assert.NotContains(t, body, "hunter2")
			if c.status == 429 {
				assert.Equal(t, "2", resp.Header.Get("Retry-After"))
			}
		})
	}
}

func TestChainEmptyAndNilIdentity(t *testing.T) {
	_, err := auth.Chain().Authenticate(httptest.NewRequest("GET", "/", nil))
	assert.ErrorIs(t, err, auth.ErrNoCredentials)
	broken := auth.IdentityFunc(func(*http.Request) (*auth.Identity, error) { return nil, nil })
	_, err = auth.Chain(nil, broken).Authenticate(httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, auth.ReasonUnavailable, auth.AsError(err).Reason, "nil identity without error must not pass")
}

func TestChallengesNestedAndDeduplicated(t *testing.T) {
	c := auth.Chain(first, auth.Chain(second, first), auth.IdentityFunc(func(*http.Request) (*auth.Identity, error) {
		return nil, auth.ErrNoCredentials
	}))
	assert.Equal(t, []string{`First realm="test"`, `Second realm="test"`}, auth.ChallengesOf(c))
}

func TestPolicyRuleTable(t *testing.T) {
	store := memstore.New()
	require.NoError(t, store.SetRules(context.Background(), []auth.Rule{
		{Priority: 5, Subject: "*", Methods: []string{"GET"}, Path: "/api/**", Verdict: auth.Allow},
		{Priority: 1.2, Subject: "mallory", Verdict: auth.Deny},
		{Priority: 1.10, Subject: "group:admins", Verdict: auth.Allow},
		{Priority: 1, Subject: "bob", Path: "/api/secret", Verdict: auth.Deny},
		{Priority: 0.5, Subject: "carol", Verdict: auth.Allow, Disabled: true},
		{Priority: 7, Subject: "", Methods: []string{"get"}, Path: "/public/*", Verdict: auth.Allow},
		{Priority: 8, Subject: "dave@internal", Methods: []string{"POST"}, Path: "/api/vms/*/start", Verdict: auth.Allow},
	}))
	admins := auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
		name := r.Header.Get("X-User")
		if name == "" {
			return nil, auth.ErrNoCredentials
		}
		id := &auth.Identity{User: name, Scheme: "test"}
		if name == "root" || name == "mallory" {
			id.Groups = []string{"admins"}
		}
		if name == "dave" {
			id.Domain = "internal"
		}
		return id, nil
	})
	srv := httptest.NewTLSServer(auth.Middleware(admins, auth.Config{Policy: auth.RuleTable{Store: store}, Optional: true})(http.HandlerFunc(whoami)))
	defer srv.Close()

	cases := []struct {
		user, method, path string
		status             int
	}{
		{"alice", "GET", "/api/vms", 200},             // rule 5
		{"alice", "GET", "/api", 200},                 // ** matches zero segments
		{"alice", "DELETE", "/api/vms", 403},          // default deny
		{"bob", "GET", "/api/secret", 403},            // rule 1 before rule 5
		{"bob", "GET", "/api/other", 200},             // rule 5
		{"root", "DELETE", "/anything", 200},          // rule 1.1 (group)
		{"mallory", "DELETE", "/anything", 200},       // 1.10 < 1.2: group admins first
		{"carol", "DELETE", "/x", 403},                // disabled rule skipped
		{"", "GET", "/public/readme", 200},            // anonymous allowed by empty subject
		{"", "GET", "/api/vms", 401},                  // anonymous denied → 401
		{"dave", "POST", "/api/vms/42/start", 200},    // user@domain subject, segment wildcard
		{"dave", "POST", "/api/vms/42/43/start", 403}, // * is one segment
	}
	for _, c := range cases {
		t.Run(c.user+" "+c.method+" "+c.path, func(t *testing.T) {
			hdr := map[string]string{}
			if c.user != "" {
				hdr["X-User"] = c.user
			}
			resp, body := do(t, srv, c.method, c.path, hdr)
			assert.Equal(t, c.status, resp.StatusCode, body)
		})
	}
}

func TestPolicyVerdictIsAnExactWord(t *testing.T) {
	bad := auth.Rule{Priority: 1, Subject: "*", Verdict: "disallow"}
	assert.Error(t, bad.Validate())
	assert.Error(t, auth.Rule{Verdict: "Allow"}.Validate())
	assert.Error(t, auth.Rule{Verdict: "allow", Path: "/a/[/b"}.Validate())
	assert.NoError(t, auth.Rule{Verdict: "allow", Path: "/a/**/b"}.Validate())
	assert.Error(t, memstore.New().SetRules(context.Background(), []auth.Rule{bad}))

	// Even if a store hands out such a rule, it denies.
	table := auth.RuleTable{Store: staticRules{bad, {Priority: 2, Subject: "*", Verdict: auth.Allow}}}
	err := table.Authorize(context.Background(), &auth.Identity{User: "u"}, httptest.NewRequest("GET", "/", nil))
	require.Error(t, err)
	assert.Equal(t, auth.ReasonForbidden, auth.AsError(err).Reason)
	assert.Contains(t, err.Error(), "not a valid word")
}

type staticRules []auth.Rule

func (s staticRules) Rules(context.Context) ([]auth.Rule, error) { return s, nil }

type failingRules struct{}

func (failingRules) Rules(context.Context) ([]auth.Rule, error) { return nil, errors.New("db down") }

func TestPolicyStoreFailureIs503(t *testing.T) {
	h := auth.Middleware(first, auth.Config{Policy: auth.RuleTable{Store: failingRules{}}})(http.HandlerFunc(whoami))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://api.example/", nil)
	req.Header.Set("X-First", "alice")
	h.ServeHTTP(rec, req)
	assert.Equal(t, 503, rec.Code)
	assert.NotContains(t, rec.Body.String(), "db down")
}

func TestMatchPath(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"", "/anything/at/all", true},
		{"/", "/", true},
		{"/", "/x", false},
		{"/api", "/api", true},
		{"/api", "/api/", true},
		{"/api", "/apix", false},
		{"/api/*", "/api/vms", true},
		{"/api/*", "/api/vms/1", false},
		{"/api/**", "/api/vms/1", true},
		{"/api/**", "/api", true},
		{"/**/start", "/api/vms/1/start", true},
		{"/**/start", "/start", true},
		{"/**/start", "/api/stop", false},
		{"/api/v?/x", "/api/v1/x", true},
		{"/api/[a-c]*", "/api/bob", true},
		{"/api/[a-c]*", "/api/dave", false},
		{"/api/[", "/api/[", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, auth.MatchPath(c.pattern, c.path), "%q vs %q", c.pattern, c.path)
	}
}

func TestResponderDialects(t *testing.T) {
	cases := []struct {
		name        string
		responder   auth.Responder
		hdr         map[string]string
		policyDeny  bool
		status      int
		contentType string
		body        string
	}{
		{"xcat 401", preset.XCATDialect(), map[string]string{"X-First": "bad"}, false, 401, "application/json", `{"error":"Authentication failure","errorcode":"2"}`},
		{"xcat missing", preset.XCATDialect(), nil, false, 401, "application/json", `{"error":"Authentication failure","errorcode":"2"}`},
		{"xcat 403 (xCAT itself says 401)", preset.XCATDialect(), map[string]string{"X-First": "alice"}, true, 403, "application/json", `{"error":"Authorization failure: no policy rule allows this request","errorcode":"1"}`},
		{"foreman 401", preset.ForemanDialect(), map[string]string{"X-First": "bad"}, false, 401, "application/json; charset=utf-8", `{"error":{"message":"Unable to authenticate user bad"}}`},
		{"foreman 429", preset.ForemanDialect(), map[string]string{"X-First": "throttled"}, false, 429, "application/json; charset=utf-8", `{"error":{"message":"Too many tries, please try again in a few minutes."}}`},
		{"foreman 403", preset.ForemanDialect(), map[string]string{"X-First": "alice"}, true, 403, "application/json; charset=utf-8", `{"error":{"message":"no policy rule allows this request"}}`},
		{"problem 403", nil, map[string]string{"X-First": "alice"}, true, 403, "application/problem+json", `{"type":"about:blank","title":"Forbidden","status":403,"detail":"no policy rule allows this request","reason":"forbidden"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := auth.Config{Responder: c.responder}
			if c.policyDeny {
				cfg.Policy = auth.RuleTable{Store: staticRules{}}
			}
			srv := httptest.NewTLSServer(auth.Middleware(first, cfg)(http.HandlerFunc(whoami)))
			defer srv.Close()
			resp, body := do(t, srv, "GET", "/", c.hdr)
			assert.Equal(t, c.status, resp.StatusCode)
			assert.Equal(t, c.contentType, resp.Header.Get("Content-Type"))
			assert.JSONEq(t, c.body, body)
			if c.status == 401 {
				assert.Equal(t, []string{`First realm="test"`}, resp.Header.Values("WWW-Authenticate"))
			} else {
				assert.Empty(t, resp.Header.Values("WWW-Authenticate"))
			}
		})
	}
}

func TestErrorChallengeOverride(t *testing.T) {
	bearer := auth.IdentityFunc(func(*http.Request) (*auth.Identity, error) {
		return nil, &auth.Error{Reason: auth.ReasonExpired, Challenge: `Bearer error="invalid_token"`}
	})
	rec := httptest.NewRecorder()
	auth.Middleware(auth.Chain(first, bearer), auth.Config{})(http.HandlerFunc(whoami)).ServeHTTP(rec, httptest.NewRequest("GET", "https://api.example/", nil))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, []string{`Bearer error="invalid_token"`}, rec.Result().Header.Values("WWW-Authenticate"))
}

func TestOptionalMode(t *testing.T) {
	srv := httptest.NewTLSServer(auth.Middleware(first, auth.Config{Optional: true})(http.HandlerFunc(whoami)))
	defer srv.Close()
	resp, body := do(t, srv, "GET", "/", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "anonymous", body)
	resp, _ = do(t, srv, "GET", "/", map[string]string{"X-First": "bad"})
	assert.Equal(t, 401, resp.StatusCode, "a wrong credential is refused even in Optional mode")
	resp, body = do(t, srv, "GET", "/", map[string]string{"X-First": "zoë"})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "First:zoë", body)
}

func TestAuditRecords(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	h := auth.Middleware(first, auth.Config{Policy: auth.PolicyFunc(
		func(_ context.Context, id *auth.Identity, r *http.Request) error {
			if r.URL.Path == "/admin" {
				return &auth.Error{Reason: auth.ReasonForbidden, User: id.Login()}
			}
			return nil
		}),
		Env: auth.Env{Audit: logger},
	})(http.HandlerFunc(whoami))
	for _, c := range []struct{ path, user string }{{"/?userPW=hunter2", "alice"}, {"/admin", "alice"}, {"/", "bad"}, {"/", "storedown"}} {
		req := httptest.NewRequest("GET", c.path, nil)
		req.Header.Set("X-First", c.user)
		req.RemoteAddr = "192.0.2.7:5555"
		req.TLS = &tls.ConnectionState{}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	var recs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		recs = append(recs, m)
	}
	require.Len(t, recs, 4)
	assert.Equal(t, []any{"allow", "deny", "fail", "fail"}, []any{recs[0]["outcome"], recs[1]["outcome"], recs[2]["outcome"], recs[3]["outcome"]})
	assert.Equal(t, "alice", recs[0]["user"])
	assert.Equal(t, "First", recs[0]["scheme"])
	assert.Equal(t, "192.0.2.7:5555", recs[0]["remote"])
	assert.Equal(t, "/", recs[0]["path"])
	assert.Equal(t, "forbidden", recs[1]["reason"])
	assert.Equal(t, "invalid", recs[2]["reason"])
	assert.Equal(t, "ERROR", recs[3]["level"])
	assert.NotContains(t, buf.String(), "userPW=hunter2", "query strings are not logged")
	assert.NotContains(t, buf.String(), "userPW")
}

func FuzzMatchPath(f *testing.F) {
	f.Add("/api/**/x", "/api/a/b/x")
	f.Add("/[a-", "/b")
	f.Add("**/**/**", "a/b/c/d")
	f.Fuzz(func(t *testing.T, pattern, p string) {
		if strings.Count(pattern, "**") > 4 || len(p) > 512 {
			return // admins write patterns; keep the search bounded
		}
		got := auth.MatchPath(pattern, p)
		if pattern == "" && !got {
			t.Fatal("empty pattern must match everything")
		}
		if got && (auth.Rule{Verdict: auth.Allow, Path: pattern}).Validate() != nil && !strings.Contains(pattern, "**") {
			t.Fatalf("invalid pattern %q matched %q", pattern, p)
		}
	})
}
