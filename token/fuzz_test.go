package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

func FuzzParse(f *testing.F) {
	for range 4 {
		s, _ := token.Generate(token.PrefixAccess)
		f.Add(s)
		p, _ := token.Generate(token.PrefixPAT)
		f.Add(p)
	}
	f.Add("gate_at_")
	f.Add("gate_pat_\x00")
	f.Fuzz(func(t *testing.T, s string) {
		prefix, err := token.Parse(s)
		if err != nil {
			if !errors.Is(err, token.ErrFormat) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+49 {
			t.Fatalf("accepted %q with prefix %q", s, prefix)
		}
	})
}

// FuzzVerifyJWT feeds arbitrary strings (JWT-shaped or not) to a service that
// takes JWTs: it must answer with an *auth.Error, never panic, never accept.
func FuzzVerifyJWT(f *testing.F) {
	codec, err := token.NewJWT(token.JWTConfig{Issuer: "iss", Audience: "aud", Keys: []token.JWTKey{hsKey("k1")}})
	if err != nil {
		f.Fatal(err)
	}
	st := memstore.New()
	_ = st.PutUser(context.Background(), stores.User{Name: "wsuser"})
	svc := token.New(token.Config{Store: st, Users: st, JWT: codec})
	issued, err := svc.IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued.Secret)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3c3VzZXIifQ.")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiIsImtpZCI6WzFdfQ.e30.x")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := svc.Verify(context.Background(), s, token.PrefixAccess, auth.SchemeToken)
		if err == nil {
			if s != issued.Secret {
				// Only a correctly signed token may pass; the fuzzer cannot sign.
				if !strings.HasPrefix(s, strings.SplitN(issued.Secret, ".", 2)[0]) {
					t.Fatalf("accepted %q as %v", s, id)
				}
			}
			return
		}
		var e *auth.Error
		if !errors.As(err, &e) || e.Status() == 500 {
			t.Fatalf("not a clean auth error: %v", err)
		}
	})
}
