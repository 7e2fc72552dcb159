package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// BenchmarkMiddlewareOverhead measures what Middleware adds to a request that
// an in-memory authenticator accepts: compare with BenchmarkBareHandler.
func BenchmarkMiddlewareOverhead(b *testing.B) {
	id := &auth.Identity{User: "wsuser", Scheme: "test"}
	accept := auth.IdentityFunc(func(*http.Request) (*auth.Identity, error) { return id, nil })
	h := auth.Middleware(accept, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.IdentityFrom(r.Context()); !ok {
			b.Fatal("no identity")
		}
	}))
	req := httptest.NewRequest("GET", "https://api.example/api/vms", nil)
	var w nopWriter
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkBareHandler is the baseline for BenchmarkMiddlewareOverhead.
func BenchmarkBareHandler(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.IdentityFrom(r.Context()); ok {
			b.Fatal("identity")
		}
	})
	req := httptest.NewRequest("GET", "/api/vms", nil)
	var w nopWriter
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}
