package bench

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/stores"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	httpauth "github.com/abbot/go-http-auth"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/oauth2"
)

// The benchmarks one hash dominates run last (this file sorts after
// peers_test.go): seconds of bcrypt slow this VM's later measurements down.

// BenchmarkBasicBcrypt: one bcrypt (cost 10) per request on both sides.
func BenchmarkBasicBcrypt(b *testing.B) {
	hash := string(must(bcrypt.GenerateFromPassword([]byte("cluster-secret"), 10)))
	b.Run("gatehouse", func(b *testing.B) { serve(b, basicUncached(hash), basicRequest("wsuser", "cluster-secret")) })
	b.Run("go-http-auth", func(b *testing.B) { serve(b, goHTTPAuth(hash), basicRequest("wsuser", "cluster-secret")) })
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, basicRequest("wsuser", "cluster-secret")) })
}

// BenchmarkBasicMD5Crypt: one md5-crypt ($1$) per request on both sides.
func BenchmarkBasicMD5Crypt(b *testing.B) {
	hash := string(httpauth.MD5Crypt([]byte("cluster-secret"), []byte("sY9XnVb2"), []byte("$1$")))
	b.Run("gatehouse", func(b *testing.B) { serve(b, basicUncached(hash), basicRequest("wsuser", "cluster-secret")) })
	b.Run("go-http-auth", func(b *testing.B) { serve(b, goHTTPAuth(hash), basicRequest("wsuser", "cluster-secret")) })
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, basicRequest("wsuser", "cluster-secret")) })
}

// BenchmarkPasswordGrant: a whole token request, the same work on both
// sides: the client authenticates with a bcrypt-hashed secret (cost 10,
// checked on every request by both), the user's password is checked
// (gatehouse: cached after the first request, as in production; fosite's
// example store keeps it in plain text), and an opaque token is stored
// (fosite: an HMAC token).
func BenchmarkPasswordGrant(b *testing.B) {
	store, svc := tokens()
	hash, err := bcrypt.GenerateFromPassword([]byte("foobar"), 10)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.PutClient(context.Background(), stores.Client{ID: "my-client", SecretHash: string(hash)}); err != nil {
		b.Fatal(err)
	}
	ep := oauth2.NewTokenEndpoint(oauth2.EndpointConfig{Tokens: svc, Passwords: pwcheck.New(pwcheck.Config{Users: store, Slots: slots}),
		Clients: store, Scopes: []string{"ovirt-app-api"}})
	body := url.Values{"grant_type": {"password"}, "username": {"wsuser"}, "password": {"cluster-secret"}, "scope": {"ovirt-app-api"}}.Encode()
	requests := func(n int) []*http.Request {
		out := make([]*http.Request, n)
		for i := range out {
			out[i] = httptest.NewRequest("POST", "https://api.example/token", strings.NewReader(body))
			out[i].Header.Set("Content-Type", "application/x-www-form-urlencoded")
			out[i].SetBasicAuth("my-client", "foobar")
		}
		return out
	}
	b.Run("gatehouse", func(b *testing.B) { serveEach(b, ep, requests) })
	b.Run(harness, func(b *testing.B) { serveEach(b, okHandler, reused(requests)) }) // the bare handler reads no body
	p := fositeProvider()
	h := fositeGrant(p)
	b.Run("fosite", func(b *testing.B) {
		serveEach(b, h, func(n int) []*http.Request {
			out := make([]*http.Request, n)
			for i := range out {
				out[i] = grantRequest("https://api.example/token", "peter", "secret", true)
			}
			return out
		})
	})
}
