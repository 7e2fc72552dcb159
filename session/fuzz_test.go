package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// FuzzCookieAndPrefer sends arbitrary Cookie and Prefer headers through the
// middleware: never a panic, never a 5xx, never a session out of nothing.
func FuzzCookieAndPrefer(f *testing.F) {
	st := memstore.New()
	none := auth.IdentityFunc(func(*http.Request) (*auth.Identity, error) { return nil, auth.ErrNoCredentials })
	h := auth.Middleware(session.New(session.Config{Store: st, Users: st}, none), auth.Config{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Add("JSESSIONID="+strings.Repeat("A", 43), "persistent-auth")
	f.Add("JSESSIONID=; JSESSIONID=x", "new-auth, csrf-protection")
	f.Fuzz(func(t *testing.T, cookie, prefer string) {
		req := httptest.NewRequest("GET", "https://x/", nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Prefer", prefer)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for cookie %q prefer %q", rec.Code, cookie, prefer)
		}
	})
}
