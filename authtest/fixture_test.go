package authtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
)

// whoami answers with the identity gatehouse put in the request.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, _ := auth.IdentityFrom(r.Context())
	fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
})

func body(t *testing.T, c *http.Client, r *http.Request) (int, string) {
	t.Helper()
	res, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestFixtureEverySchemes drives a handler behind the fixture's faces with
// each of the eight schemes.
func TestFixtureEveryScheme(t *testing.T) {
	f := authtest.New(t)
	srv := f.NewTLSServer(whoami)
	c := srv.Client()
	get := func(path string) *http.Request { r, _ := http.NewRequest("GET", srv.URL+path, nil); return r }
	withPrefer := get("/ovirt-engine/api")
	withPrefer.Header.Set("Prefer", "persistent-auth")
	for _, tc := range []struct {
		name   string
		client *http.Client
		req    *http.Request
		want   string
	}{
		{"query", c, srv.Query("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword), "wsuser via query"},
		{"basic", c, srv.Basic("GET", "/api/status", authtest.SatelliteUser, authtest.SatellitePassword), "admin via basic"},
		{"basic user@domain", c, srv.Basic("GET", "/ovirt-engine/api", authtest.OVirtUser, authtest.OVirtPassword), "admin@internal via basic"},
		{"X-Auth-Token", c, srv.XAuthToken("GET", "/xcatws/nodes"), "wsuser via token"},
		{"PAT", c, srv.PATBasic("GET", "/api/status"), "admin via pat"},
		{"OAuth 1", srv.OAuth1Client("admin", false), get("/api/status"), "admin via oauth1"},
		{"OAuth 1 strict", srv.OAuth1Client("admin", true), get("/api/status?x=1"), "admin via oauth1"},
		{"OAuth 2 bearer", c, srv.Bearer("GET", "/ovirt-engine/api"), "admin@internal via oauth2"},
		{"session", srv.SessionClient(), withPrefer, "admin@internal via session"},
		{"client certificate", srv.CertClient(authtest.CertUser), get("/v1/configuration/containers"), "alice via mtls"},
	} {
		if code, got := body(t, tc.client, tc.req); code != 200 || got != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.name, code, got, tc.want)
		}
	}
	res, err := c.Do(srv.Basic("GET", "/api/status", authtest.SatelliteUser, "wrong"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	authtest.AssertChallenge(t, res, "Basic")
}

// TestWithIdentity: a handler unit test that skips authentication.
func TestWithIdentity(t *testing.T) {
	w := httptest.NewRecorder()
	whoami.ServeHTTP(w, withIdentity(httptest.NewRequest("GET", "/", nil), &auth.Identity{User: "bob", Scheme: "test"}))
	if w.Body.String() != "bob via test" {
		t.Errorf("got %q", w.Body.String())
	}
}

// TestPackageDocSnippet is the package documentation's example test, as
// written there (myHandler = whoami).
func TestPackageDocSnippet(t *testing.T) {
	myHandler := whoami
	srv := authtest.New(t).NewTLSServer(myHandler)
	for _, r := range []*http.Request{
		srv.Query("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword),
		srv.XAuthToken("GET", "/xcatws/nodes"),
		srv.PATBasic("GET", "/api/status"),
		srv.Bearer("GET", "/ovirt-engine/api"),
	} {
		if res, err := srv.Client().Do(r); err != nil || res.StatusCode != 200 {
			t.Errorf("%s: %v %v", r.URL.Path, res, err)
		}
	}
	res, _ := srv.Client().Do(srv.Basic("GET", "/api/status", "admin", "wrong"))
	authtest.AssertChallenge(t, res, "Basic")
}

type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Errorf(string, ...any) { r.failed = true }

// TestAssertChallengeFails: the assertion fails on a 200 and on a 401
// without the scheme asked for, and passes on one with it.
func TestAssertChallengeFails(t *testing.T) {
	for _, tc := range []struct {
		status int
		header string
		fail   bool
	}{
		{200, "", true},
		{401, `Bearer realm="x"`, true},
		{401, `Bearer realm="x", Basic realm="y"`, false},
		{401, `basic realm="y"`, false},
	} {
		rec := &recordingTB{TB: t}
		res := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		if tc.header != "" {
			res.Header.Set("WWW-Authenticate", tc.header)
		}
		authtest.AssertChallenge(rec, res, "Basic")
		if rec.failed != tc.fail {
			t.Errorf("%d %q: failed=%v, want %v", tc.status, tc.header, rec.failed, tc.fail)
		}
	}
}

// TestAssertRefused: each face refuses in its dialect, and the assertion
// fails when the dialect or status is not the one asked for.
func TestAssertRefused(t *testing.T) {
	srv := authtest.New(t).NewTLSServer(whoami)
	c := srv.Client()
	do := func(r *http.Request) *http.Response {
		res, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	tokenReq, _ := http.NewRequest("POST", srv.URL+"/ovirt-engine/sso/oauth/token", strings.NewReader("grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=wrong"))
	tokenReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, tc := range []struct {
		name    string
		res     *http.Response
		status  int
		dialect string
	}{
		{"xCAT", do(srv.Query("GET", "/xcatws/nodes", "wsuser", "wrong")), 401, "xcat"},
		{"Satellite", do(srv.Basic("GET", "/api/status", "admin", "wrong")), 401, "foreman"},
		{"oVirt API", do(srv.Basic("GET", "/ovirt-engine/api", "admin@internal", "wrong")), 401, "problem"},
		{"oVirt SSO", do(tokenReq), 400, "ovirt-sso"},
	} {
		authtest.AssertRefused(t, tc.res, tc.status, tc.dialect)
		for _, wrong := range []string{"problem", "xcat", "foreman", "ovirt-sso"} {
			if wrong == tc.dialect {
				continue
			}
			rec := &recordingTB{TB: t}
			authtest.AssertRefused(rec, tc.res, tc.status, wrong)
			if !rec.failed {
				t.Errorf("%s: AssertRefused accepted it as %s", tc.name, wrong)
			}
		}
		rec := &recordingTB{TB: t}
		authtest.AssertRefused(rec, tc.res, 500, tc.dialect)
		if !rec.failed {
			t.Errorf("%s: AssertRefused accepted status 500", tc.name)
		}
	}
}

// TestClockExpiresTokens: an xCAT token (one day) works, and is refused
// the xCAT way once the fixture's clock has moved a day and a minute.
func TestClockExpiresTokens(t *testing.T) {
	f := authtest.New(t)
	srv := f.NewTLSServer(whoami)
	req := srv.XAuthToken("GET", "/xcatws/nodes")
	if code, got := body(t, srv.Client(), req); code != 200 {
		t.Fatalf("fresh token: %d %s", code, got)
	}
	f.Clock.Add(24*time.Hour + time.Minute)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	authtest.AssertRefused(t, res, 401, "xcat")
}

// withIdentity is r as auth.Middleware hands it on once id is proved.
func withIdentity(r *http.Request, id *auth.Identity) *http.Request {
	return r.WithContext(auth.WithIdentity(r.Context(), id))
}
