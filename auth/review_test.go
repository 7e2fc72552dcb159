package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// The tests in this file are attacks an outside review of session 9's
// changes found; each failed before its fix. Their comments say what the
// attack did then.

func TestReviewOddAuthenticatorsPanic(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	try := func(name string, f func()) {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("%s: panic: %v", name, p)
			}
		}()
		f()
	}
	try("Finish returns nil", func() {
		a := auth.AuthenticatorFunc(func(*http.Request) (*auth.Result, error) {
			return &auth.Result{Identity: &auth.Identity{User: "u"}, Finish: func(http.ResponseWriter, *http.Request) *http.Request { return nil }}, nil
		})
		auth.Middleware(a, auth.Config{})(ok).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://x/", nil))
	})
	try("password Verifier returns (nil, nil)", func() {
		p := &pwcheck.Pipeline{Verifier: verifierFunc(func(context.Context, string, string) (*auth.Identity, error) { return nil, nil }),
			Throttle: &pwcheck.Throttle{Counter: memstore.New()}}
		_, _ = p.Check(httptest.NewRequest("GET", "https://x/", nil), "basic", "u", "p")
	})
}

type verifierFunc func(context.Context, string, string) (*auth.Identity, error)

func (f verifierFunc) VerifyPassword(ctx context.Context, l, p string) (*auth.Identity, error) {
	return f(ctx, l, p)
}
