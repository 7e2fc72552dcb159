package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/session"
)

// BenchmarkCookieRequest is one cookie-authenticated request through the
// Manager over memstore.
func BenchmarkCookieRequest(b *testing.B) {
	st := authtest.Users(authtest.User{Login: "admin@internal", Password: "pw"})
	m := session.New(session.Config{Store: st, Users: st}, basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: st})}))
	login := httptest.NewRequest("GET", "https://x/api", nil)
	login.SetBasicAuth("admin@internal", "pw")
	login.Header.Set("Prefer", "persistent-auth")
	rec := httptest.NewRecorder()
	auth.Middleware(m, auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, login)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		b.Fatal("no session cookie")
	}
	req := httptest.NewRequest("GET", "https://x/api", nil)
	req.AddCookie(cookies[0])
	req.Header.Set("Prefer", "persistent-auth")
	b.ReportAllocs()
	for b.Loop() {
		id, err := m.Authenticate(req)
		if err != nil || id.Identity.Scheme != auth.SchemeSession {
			b.Fatal(err)
		}
	}
}
