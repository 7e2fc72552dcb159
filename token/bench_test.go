package token_test

import (
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

func benchService(b *testing.B, cfg token.Config) (*token.Service, memstore.Store) {
	st := memstore.New()
	if err := st.PutUser(context.Background(), stores.User{Name: "wsuser"}); err != nil {
		b.Fatal(err)
	}
	cfg.Store, cfg.Users = st, st
	return token.New(cfg), st
}

func benchVerify(b *testing.B, svc *token.Service, secret, prefix string) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Verify(ctx, secret, prefix, auth.SchemeToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpaqueVerify is one access-token check over memstore.
func BenchmarkOpaqueVerify(b *testing.B) {
	svc, _ := benchService(b, token.Config{HashKey: []byte("0123456789abcdef0123456789abcdef")})
	issued, err := svc.IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchVerify(b, svc, issued.Secret, token.PrefixAccess)
}

// BenchmarkJWTVerifyHS256 is one JWT check (signature, claims, revocation lookup).
func BenchmarkJWTVerifyHS256(b *testing.B) {
	codec, err := token.NewJWT(token.JWTConfig{Issuer: "iss", Audience: "aud", Keys: []token.JWTKey{hsKey("k1")}})
	if err != nil {
		b.Fatal(err)
	}
	svc, _ := benchService(b, token.Config{JWT: codec})
	issued, err := svc.IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchVerify(b, svc, issued.Secret, token.PrefixAccess)
}

// BenchmarkPATAsBasic is a whole Basic authentication whose password is a PAT.
func BenchmarkPATAsBasic(b *testing.B) {
	svc, st := benchService(b, token.Config{})
	pat, err := svc.CreatePAT(context.Background(), token.PATSpec{Login: "wsuser", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	a := basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(svc.PATs(), &pwcheck.StoreVerifier{Users: st})}})
	req := httptest.NewRequest("GET", "https://x/api", nil)
	req.SetBasicAuth("wsuser", pat.Secret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup shows the cost in the number of stored tokens: "store" is
// the index lookup alone (flat), "verify" the whole Verify, whose allocations
// make the garbage collector scan the whole in-memory store now and then, so
// it grows with the heap of a memstore holding a million tokens.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		svc, st := benchService(b, token.Config{})
		ctx := context.Background()
		created := time.Now()
		for i := range n {
			if err := st.CreateToken(ctx, stores.Token{ID: fmt.Sprint("id", i), Hash: svc.HashSecret(fmt.Sprint("filler", i)),
				Kind: stores.TokenAccess, User: "wsuser", Created: created}); err != nil {
				b.Fatal(err)
			}
		}
		issued, err := svc.IssueAccess(ctx, &auth.Identity{User: "wsuser"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("store/tokens=%d", n), func(b *testing.B) {
			hash := svc.HashSecret(issued.Secret)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.TokenByHash(ctx, hash); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("verify/tokens=%d", n), func(b *testing.B) {
			benchVerify(b, svc, issued.Secret, token.PrefixAccess)
		})
	}
}
