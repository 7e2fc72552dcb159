package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/token"
)

// One Authorization: Bearer takes the service's own JWTs, its opaque
// tokens and an external provider's JWTs, whatever the order of the
// union; a forged token of each kind gets the very same answer. Before
// verifiers were apart from transports, auth.Chain(keycloak, bearer)
// refused the service's JWTs and the other order Keycloak's.
func TestOneBearerTakesEveryKindOfToken(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p.setKeys(map[string]any{"k1": k1})
	keycloak, err := oidc.New(oidc.Config{Issuer: p.URL, Audience: "ovirt-engine", HTTPClient: p.Client()})
	require.NoError(t, err)

	st := authtest.Users(authtest.User{Login: "bob", Password: "pw"}, authtest.User{Login: "carol", Password: "pw"})
	secret := []byte("a-32-byte-secret-for-hs256-jwts!")
	own, err := token.NewJWT(token.JWTConfig{Issuer: "https://gatehouse.example", Audience: "api",
		Keys: []token.JWTKey{{ID: "g1", Alg: "HS256", Secret: secret}}})
	require.NoError(t, err)
	jwts := token.New(token.Config{Store: st, Users: st, JWT: own})
	opaque := token.New(token.Config{Store: st, Users: st})
	bob, err := st.User(ctx, "bob")
	require.NoError(t, err)
	carol, err := st.User(ctx, "carol")
	require.NoError(t, err)
	jwtTok, err := jwts.IssueAccess(ctx, auth.UserIdentity(bob, ""), nil)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(jwtTok.Secret, "."), "the service issues JWTs")
	opaqueTok, err := opaque.IssueAccess(ctx, auth.UserIdentity(carol, ""), nil)
	require.NoError(t, err)
	kcTok := sign(t, p, k1, "k1", time.Now(), nil)

	// Forgeries, one of each kind.
	forgedOwn := func() string {
		c := jwt.MapClaims{"iss": "https://gatehouse.example", "aud": "api", "sub": "bob", "jti": "x",
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"] = "g1"
		s, err := tok.SignedString([]byte("not-the-services-32-byte-secret!"))
		require.NoError(t, err)
		return s
	}()
	elsewhere := authtest.Users(authtest.User{Login: "carol", Password: "pw"})
	carolThere, err := elsewhere.User(ctx, "carol")
	require.NoError(t, err)
	other0, err := token.New(token.Config{Store: elsewhere, Users: elsewhere}).IssueAccess(ctx, auth.UserIdentity(carolThere, ""), nil)
	require.NoError(t, err)
	forgedOpaque := other0.Secret // well-formed, never issued by this service
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	forgedKC := sign(t, p, other, "k1", time.Now(), nil)
	unknownIssuer := sign(t, p, k1, "k1", time.Now(), jwt.MapClaims{"iss": "https://elsewhere.example"})

	verifiers := []auth.TokenVerifier{jwts.AccessTokens(), opaque.AccessTokens(), keycloak}
	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		union := auth.Union(verifiers[order[0]], verifiers[order[1]], verifiers[order[2]])
		h := auth.Middleware(oauth2.NewBearer(oauth2.BearerConfig{Verifier: union}), auth.Config{})(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, _ := auth.IdentityFrom(r.Context())
				_, _ = io.WriteString(w, id.Login()+" "+id.Scheme)
			}))
		srv := httptest.NewTLSServer(h)
		call := func(tok string) (int, string, string) {
			req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, res.Header.Get("WWW-Authenticate"), string(b)
		}
		for tok, want := range map[string]string{jwtTok.Secret: "bob oauth2", opaqueTok.Secret: "carol oauth2", kcTok: "alice oauth2"} {
			code, _, body := call(tok)
			assert.Equal(t, 200, code, "order %v", order)
			assert.Equal(t, want, body, "order %v", order)
		}
		var answers []string
		for _, tok := range []string{forgedOwn, forgedOpaque, forgedKC, unknownIssuer} {
			code, challenge, body := call(tok)
			assert.Equal(t, 401, code, "order %v", order)
			answers = append(answers, challenge+"|"+body)
		}
		for _, a := range answers[1:] {
			assert.Equal(t, answers[0], a, "order %v: forged tokens of different kinds are told apart", order)
		}
		assert.Contains(t, answers[0], `error="invalid_token"`)
		srv.Close()
	}
}
