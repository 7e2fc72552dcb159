package basic_test

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// benchStore holds wsuser with a production-strength argon2id hash
// (password.DefaultParams), so uncached figures are the real cost.
func benchStore(b *testing.B) memstore.Store {
	h, err := password.Hash("cluster-secret")
	if err != nil {
		b.Fatal(err)
	}
	s := memstore.New()
	if err := s.PutUser(context.Background(), stores.User{Name: "wsuser", PasswordHash: h}); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchAuth(b *testing.B, a auth.Authenticator, user, pw string, wantOK bool) {
	req := httptest.NewRequest("GET", "https://api.example/api/vms", nil)
	req.SetBasicAuth(user, pw)
	b.ReportAllocs()
	for b.Loop() {
		_, err := a.Authenticate(req)
		if (err == nil) != wantOK {
			b.Fatalf("unexpected result: %v", err)
		}
	}
}

// BenchmarkBasicCached is a Basic request whose password was verified before.
func BenchmarkBasicCached(b *testing.B) {
	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: benchStore(b)})})
	benchAuth(b, a, "wsuser", "cluster-secret", true)
}

// BenchmarkBasicUncached verifies the argon2id hash on every request.
func BenchmarkBasicUncached(b *testing.B) {
	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: benchStore(b), CacheTTL: -1})})
	benchAuth(b, a, "wsuser", "cluster-secret", true)
}

// BenchmarkBasicWrongPassword and BenchmarkBasicUnknownUser must agree: an
// unknown user costs a dummy verification of the same kind and cost.
func BenchmarkBasicWrongPassword(b *testing.B) {
	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: benchStore(b), CacheTTL: -1})})
	benchAuth(b, a, "wsuser", "not-the-password", false)
}

// BenchmarkBasicUnknownUser: see BenchmarkBasicWrongPassword.
func BenchmarkBasicUnknownUser(b *testing.B) {
	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: benchStore(b), CacheTTL: -1})})
	benchAuth(b, a, "nobody", "not-the-password", false)
}
