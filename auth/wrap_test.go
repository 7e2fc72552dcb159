package auth_test

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/token"
)

// logged is what a user writes to log every authentication: it embeds the
// scheme and overrides Authenticate only.
type logged struct {
	auth.Authenticator
	calls *int
}

func (l logged) Authenticate(r *http.Request) (*auth.Identity, error) {
	*l.calls++
	return l.Authenticator.Authenticate(r)
}

// Wrapping a scheme in a user's own type used to switch off the plain-HTTP
// refusal, the challenges and the query stripping, which lived in optional
// interfaces the wrapper did not have. Now they are part of Authenticator,
// and embedding keeps them; auth.Wrap does the same.
func TestWrappedSchemesKeepTheirBehaviour(t *testing.T) {
	st := authtest.NewStore(t, authtest.User{Login: "wsuser", Password: "pw"})
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: "katello", Secret: "wrapped-consumer-secret"}))
	tokens := token.New(token.Config{Store: st, Users: st})
	cfg := basic.Config{Passwords: &pwcheck.Pipeline{Verifier: authtest.Verifier(t, st)}}
	schemes := []struct {
		name      string
		a         auth.Authenticator
		challenge string              // "" when the scheme offers none
		credit    func(*http.Request) // puts the scheme's kind of credential on a request
	}{
		{"basic", basic.New(cfg), "Basic", func(r *http.Request) { r.SetBasicAuth("wsuser", "pw") }},
		{"query", basic.NewQuery(cfg, basic.QueryConfig{}), "", func(r *http.Request) { r.URL.RawQuery = "userName=wsuser&userPW=pw" }},
		{"token", tokens.Authenticator(), "", func(r *http.Request) { r.Header.Set("X-Auth-Token", "gate_at_x") }},
		{"bearer", oauth2.NewBearer(oauth2.BearerConfig{Tokens: tokens}), "Bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }},
		{"oauth1", oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st}), "OAuth", func(r *http.Request) {
			r.URL.RawQuery = "oauth_consumer_key=katello&oauth_signature=x"
		}},
		{"session", session.New(session.Config{Store: st, Users: st}, basic.New(cfg)), "Basic", func(r *http.Request) {
			r.Header.Set("Cookie", "JSESSIONID="+strings.Repeat("A", 43))
		}},
	}
	for _, s := range schemes {
		for wrapName, wrap := range map[string]func(auth.Authenticator, *int) auth.Authenticator{
			"embedding": func(a auth.Authenticator, n *int) auth.Authenticator { return logged{a, n} },
			"auth.Wrap": func(a auth.Authenticator, n *int) auth.Authenticator {
				return auth.Wrap(a, func(r *http.Request, next func(*http.Request) (*auth.Identity, error)) (*auth.Identity, error) {
					*n++
					return next(r)
				})
			},
		} {
			t.Run(s.name+"/"+wrapName, func(t *testing.T) {
				calls := 0
				var seen *http.Request
				h := auth.Middleware(wrap(s.a, &calls), auth.Config{})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r }))

				// Plain HTTP with the credential: refused before it is checked.
				req := httptest.NewRequest("GET", "http://api.example/api", nil)
				s.credit(req)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				assert.Equal(t, 403, rec.Code)
				assert.Zero(t, calls, "the credential was not even looked at")

				// No credential over HTTPS: 401 with the scheme's challenge.
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "https://api.example/api", nil))
				assert.Equal(t, 401, rec.Code)
				if s.challenge != "" {
					assert.Contains(t, rec.Header().Get("WWW-Authenticate"), s.challenge)
				}

				// Query credentials never reach the handler.
				if s.name == "query" {
					req := httptest.NewRequest("GET", "https://api.example/api?userName=wsuser&userPW=pw&page=2", nil)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					require.Equal(t, 200, rec.Code)
					assert.Equal(t, "page=2", seen.URL.RawQuery)
					assert.NotEmpty(t, rec.Header().Get("Deprecation"))
				}
			})
		}
	}
}
