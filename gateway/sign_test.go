package gateway_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/gateway"
)

func signedRequest(method, path string, id gateway.Identity, at time.Time) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("X-Gatehouse-User", id.User)
	r.Header.Set("X-Gatehouse-Groups", id.Groups)
	r.Header.Set("X-Gatehouse-Scheme", id.Scheme)
	r.Header.Set("X-Gatehouse-Signature", gateway.Sign(signKey, id, at, method, path))
	return r
}

// TestVerifierRefusesTampering: each part the signature covers is bound.
func TestVerifierRefusesTampering(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := gateway.Verifier{Key: signKey, Env: auth.Env{Now: func() time.Time { return now }}}
	id := gateway.Identity{User: "alice@internal", Groups: "ops,dev", Scheme: "basic"}
	if got, err := v.Verify(signedRequest("GET", "/api/vms", id, now)); err != nil || got.User != id.User || strings.Join(got.Groups, ",") != id.Groups || got.Scheme != id.Scheme {
		t.Fatalf("genuine: %+v %v", got, err)
	}
	for name, r := range map[string]*http.Request{
		"user": func() *http.Request {
			r := signedRequest("GET", "/api/vms", id, now)
			r.Header.Set("X-Gatehouse-User", "root")
			return r
		}(),
		"groups": func() *http.Request {
			r := signedRequest("GET", "/api/vms", id, now)
			r.Header.Set("X-Gatehouse-Groups", "admin")
			return r
		}(),
		"scheme": func() *http.Request {
			r := signedRequest("GET", "/api/vms", id, now)
			r.Header.Set("X-Gatehouse-Scheme", "mtls")
			return r
		}(),
		"method": func() *http.Request { r := signedRequest("GET", "/api/vms", id, now); r.Method = "DELETE"; return r }(),
		"path": func() *http.Request {
			r := signedRequest("GET", "/api/vms", id, now)
			r.URL.Path = "/api/users"
			return r
		}(),
		"old":    signedRequest("GET", "/api/vms", id, now.Add(-2*time.Minute)),
		"future": signedRequest("GET", "/api/vms", id, now.Add(2*time.Minute)),
		"no sig": func() *http.Request {
			r := signedRequest("GET", "/api/vms", id, now)
			r.Header.Del("X-Gatehouse-Signature")
			return r
		}(),
		"bad sig": func() *http.Request {
			r := signedRequest("GET", "/api/vms", id, now)
			r.Header.Set("X-Gatehouse-Signature", "v1 t=x sig=y")
			return r
		}(),
		"nothing": httptest.NewRequest("GET", "/api/vms", nil),
	} {
		if _, err := v.Verify(r); err == nil {
			t.Errorf("%s: tampered request verified", name)
		}
	}
	other := gateway.Verifier{Key: []byte("another key of at least thirty-two bytes"), Env: auth.Env{Now: v.Env.Now}}
	if _, err := other.Verify(signedRequest("GET", "/api/vms", id, now)); err == nil {
		t.Error("verified under another key")
	}
}

// TestVerifierMiddleware: 401 without a good signature, the identity in
// the context with one.
func TestVerifierMiddleware(t *testing.T) {
	var seen *auth.Identity
	h := gateway.Verifier{Key: signKey}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = auth.IdentityFrom(r.Context())
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 401 || seen != nil {
		t.Errorf("unsigned: %d %v", rec.Code, seen)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, signedRequest("GET", "/x", gateway.Identity{User: "bob", Groups: "a,b", Scheme: "pat"}, time.Now()))
	if rec.Code != 200 || seen == nil || seen.Login() != "bob" || !seen.InGroup("b") || seen.Scheme != "pat" {
		t.Errorf("signed: %d %+v", rec.Code, seen)
	}
}

// FuzzVerify: any header values are refused or verified, never a panic;
// only a signature made with the key verifies.
func FuzzVerify(f *testing.F) {
	f.Add("alice", "ops", "basic", "v1 t=1800000000 sig=AAAA")
	f.Add("", "", "", "")
	f.Add("a", "b", "c", "v1 t=-99999999999999999999 sig=%%%")
	v := gateway.Verifier{Key: signKey}
	f.Fuzz(func(t *testing.T, user, groups, scheme, sig string) {
		r := httptest.NewRequest("GET", "/p", nil)
		r.Header.Set("X-Gatehouse-User", user)
		r.Header.Set("X-Gatehouse-Groups", groups)
		r.Header.Set("X-Gatehouse-Scheme", scheme)
		r.Header.Set("X-Gatehouse-Signature", sig)
		if _, err := v.Verify(r); err == nil {
			t.Fatalf("forged headers verified: %q %q %q %q", user, groups, scheme, sig)
		}
	})
}

// ExampleVerifier is the upstream side: a Go service behind the gateway
// trusts only identity headers the gateway signed.
func ExampleVerifier() {
	key := []byte("the same 32+ byte key as serve --sign-key-file")
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		w.Write([]byte("hello " + id.Login()))
	})
	h := gateway.Verifier{Key: key}.Middleware(api)

	r := httptest.NewRequest("GET", "/hello", nil)
	id := gateway.Identity{User: "alice", Scheme: "basic"}
	r.Header.Set("X-Gatehouse-User", id.User)
	r.Header.Set("X-Gatehouse-Scheme", id.Scheme)
	r.Header.Set("X-Gatehouse-Signature", gateway.Sign(key, id, time.Now(), "GET", "/hello"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 hello alice
}
