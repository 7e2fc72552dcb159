package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/token"
)

// logging is what a user writes to log every authentication: a one-method
// wrapper that returns what the scheme returned.
func logging(inner auth.Authenticator, calls *int) auth.Authenticator {
	return auth.AuthenticatorFunc(func(r *http.Request) (*auth.Result, error) {
		*calls++
		return inner.Authenticate(r)
	})
}

// countingVerifier is a one-method password decorator that counts checks.
type countingVerifier struct {
	next  pwcheck.Verifier
	calls *int
}

func (c countingVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	*c.calls++
	return c.next.VerifyPassword(ctx, login, pw)
}

// Every scheme wrapped in a user's one-method logging wrapper keeps every
// security behaviour: the plain-HTTP refusal (before the credential is
// checked), query credentials stripped, a session cookie set and then
// honoured, an OAuth 1 form body still readable by the handler. With the
// four-method contract of before, such a wrapper (auth.AuthenticatorFunc
// around a scheme) lost Finish: the handler saw userPW in its URL and no
// session was created.
func TestOneMethodWrapperKeepsEverySecurityBehaviour(t *testing.T) {
	ctx := context.Background()
	st := authtest.Users(authtest.User{Login: "wsuser", Password: "pw"})
	require.NoError(t, st.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "wrapped-consumer-secret"}))
	tokens := token.New(token.Config{Store: st, Users: st})
	wsuser, err := st.User(ctx, "wsuser")
	require.NoError(t, err)
	issued, err := tokens.IssueAccess(ctx, auth.UserIdentity(wsuser, ""), nil)
	require.NoError(t, err)
	checked := 0
	pipe := &pwcheck.Pipeline{Verifier: countingVerifier{authtest.Verifier(t, st), &checked}}
	cfg := basic.Config{Passwords: pipe}

	type step struct {
		name   string
		a      auth.Authenticator
		credit func(*http.Request) // puts the scheme's credential on a request
	}
	schemes := []step{
		{"basic", basic.New(cfg), func(r *http.Request) { r.SetBasicAuth("wsuser", "pw") }},
		{"query", basic.NewQuery(cfg, basic.QueryConfig{}), func(r *http.Request) { r.URL.RawQuery = "userName=wsuser&userPW=pw" }},
		{"x-auth-token", token.XAuthToken(tokens.AccessTokens()), func(r *http.Request) { r.Header.Set("X-Auth-Token", issued.Secret) }},
		{"bearer", oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()}), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+issued.Secret) }},
		{"oauth1", oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st}), func(r *http.Request) {
			r.URL.RawQuery = "oauth_consumer_key=katello&oauth_signature=x"
		}},
		{"session", session.New(session.Config{Store: st, Users: st}, basic.New(cfg)), func(r *http.Request) {
			r.Header.Set("Cookie", "JSESSIONID="+strings.Repeat("A", 43))
		}},
	}
	for _, s := range schemes {
		t.Run(s.name, func(t *testing.T) {
			calls := 0
			var seen *http.Request
			var body string
			h := auth.Middleware(logging(s.a, &calls), auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r
				b, _ := io.ReadAll(r.Body)
				body = string(b)
				_, _ = io.WriteString(w, "ok")
			}))

			// Plain HTTP with the credential: refused, and the credential
			// is never checked (no password hash, no token lookup that
			// could count).
			checked = 0
			req := httptest.NewRequest("GET", "http://api.example/api", nil)
			s.credit(req)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
			assert.Zero(t, checked, "a password sent over plain HTTP was checked")
			assert.Nil(t, seen)

			srv := httptest.NewTLSServer(h)
			defer srv.Close()
			client := srv.Client()
			switch s.name {
			case "query":
				res, err := client.Get(srv.URL + "/api?userName=wsuser&userPW=pw&page=2")
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, 200, res.StatusCode)
				assert.Equal(t, "page=2", seen.URL.RawQuery, "query credentials reached the handler")
				assert.Equal(t, "/api?page=2", seen.RequestURI)
				assert.NotEmpty(t, res.Header.Get("Deprecation"))
			case "session":
				req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
				req.SetBasicAuth("wsuser", "pw")
				req.Header.Set("Prefer", "persistent-auth")
				res, err := client.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, 200, res.StatusCode)
				var jsession *http.Cookie
				for _, c := range res.Cookies() {
					if c.Name == "JSESSIONID" {
						jsession = c
					}
				}
				require.NotNil(t, jsession, "the wrapped session manager set no cookie")
				assert.True(t, jsession.HttpOnly)
				req, _ = http.NewRequest("GET", srv.URL+"/api", nil)
				req.AddCookie(jsession)
				req.Header.Set("Prefer", "persistent-auth")
				res, err = client.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				assert.Equal(t, 200, res.StatusCode, "the session the wrapped manager created was not honoured")
			case "oauth1":
				signing := oauth1.NewSigningClient(ctx, oauth1.SigningClientConfig{ConsumerKey: "katello",
					ConsumerSecret: "wrapped-consumer-secret", User: "wsuser", Base: client.Transport})
				form := url.Values{"name": {"web01"}, "comment": {"a & b"}}
				res, err := signing.PostForm(srv.URL+"/api/hosts", form)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, 200, res.StatusCode)
				assert.Equal(t, form.Encode(), body, "the handler could not read the signed form body")
			default:
				req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
				s.credit(req)
				res, err := client.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, 200, res.StatusCode)
				assert.Empty(t, seen.URL.RawQuery)
			}
			assert.NotZero(t, calls, "the wrapper was not called")
		})
	}
}

// A wrapper loses only the challenges, which auth.WithChallenges puts
// back.
func TestWrapperChallenges(t *testing.T) {
	st := authtest.Users()
	b := basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: authtest.Verifier(t, st)}})
	calls := 0
	for _, c := range []struct {
		a    auth.Authenticator
		want string
	}{
		{logging(b, &calls), ""},
		{auth.WithChallenges(logging(b, &calls), auth.ChallengesOf(b)...), `Basic realm="gatehouse", charset="UTF-8"`},
	} {
		rec := httptest.NewRecorder()
		auth.Middleware(c.a, auth.Config{})(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "https://api.example/", nil))
		assert.Equal(t, 401, rec.Code)
		assert.Equal(t, c.want, rec.Header().Get("WWW-Authenticate"))
	}
}
