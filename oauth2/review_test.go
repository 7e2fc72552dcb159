package oauth2_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/token"
)

// The tests in this file are attacks an outside review of session 9's
// changes found; each failed before its fix. Their comments say what the
// attack did then.

// A TokenVerifier that answers (nil, nil) is turned into errNoResult (503)
// inside an auth.Union of two or more, but auth.Union of one returns the
// verifier itself, and tokencheck.Check dereferenced the nil Identity.
func TestReviewNilIdentityFromVerifierPanics(t *testing.T) {
	odd := auth.TokenVerifierFunc(func(context.Context, string) (*auth.Identity, error) { return nil, nil })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for name, a := range map[string]auth.Authenticator{
		"Bearer(Union(odd, other))": oauth2.NewBearer(oauth2.BearerConfig{Verifier: auth.Union(odd, auth.TokenVerifierFunc(func(context.Context, string) (*auth.Identity, error) { return nil, auth.ErrNotMine }))}),
		"Bearer(Union(odd))":        oauth2.NewBearer(oauth2.BearerConfig{Verifier: auth.Union(odd)}),
		"XAuthToken(odd)":           token.XAuthToken(odd),
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic: %v", name, p)
				}
			}()
			r := httptest.NewRequest("GET", "https://x/", nil)
			r.Header.Set("Authorization", "Bearer abc")
			r.Header.Set("X-Auth-Token", "abc")
			if name != "XAuthToken(odd)" {
				r.Header.Del("X-Auth-Token")
			} else {
				r.Header.Del("Authorization")
			}
			rec := httptest.NewRecorder()
			auth.Middleware(a, auth.Config{})(ok).ServeHTTP(rec, r)
			fmt.Printf("%s: %d\n", name, rec.Code)
		}()
	}
}
