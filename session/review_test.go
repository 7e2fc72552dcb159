package session_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/session"
)

// An attack an outside review of session 9 found; it failed before the
// fix (the handler saw the query credentials beside the session).

// basic.Query promises to strip its credentials "whatever the order". Inside
// a session.Manager, a live cookie wins without asking the inner chain at
// all: the query's userName/userPW reach the handler, never checked, beside
// the session's identity.
func TestReviewQueryInsideSessionNotStripped(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "alice", Password: "alice-pw"}, authtest.User{Login: "root", Password: "root-pw"})
	pw := &pwcheck.Pipeline{Verifier: authtest.Verifier(t, store)}
	inner := auth.Chain(basic.NewQuery(basic.Config{Passwords: pw}, basic.QueryConfig{}), basic.New(basic.Config{Passwords: pw}))
	m := session.New(session.Config{Store: store, Users: store}, inner)
	srv := httptest.NewTLSServer(auth.Middleware(m, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		io.WriteString(w, id.Login()+" | "+r.URL.RawQuery)
	})))
	defer srv.Close()
	// Log in with Basic, keep the session.
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.SetBasicAuth("alice", "alice-pw")
	req.Header.Set("Prefer", "persistent-auth")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "JSESSIONID" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session")
	}
	req, _ = http.NewRequest("GET", srv.URL+"/x?userName=root&userPW=not-the-password", nil)
	req.AddCookie(cookie)
	req.Header.Set("Prefer", "persistent-auth")
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	t.Logf("cookie + ?userName=root&userPW=not-the-password → %d %q", res.StatusCode, b)
	if res.StatusCode == 200 && string(b) != "alice | " {
		t.Errorf("query credentials reached the handler unstripped (and unchecked)")
	}
}
