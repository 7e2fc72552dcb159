package oauth2_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// Attack: replaying a used refresh token was refused, but the tokens issued
// from it stayed valid (RFC 9700 §4.14.2 wants the family revoked); and a
// refresh token issued to client "app" could be redeemed by client "other".
func TestRefreshTokenReuseAndClientBinding(t *testing.T) {
	hash, err := authtest.CheapHasher.Hash("app-secret")
	require.NoError(t, err)
	clients := memstore.New()
	require.NoError(t, clients.PutClient(t.Context(), stores.Client{ID: "app", SecretHash: hash}))
	require.NoError(t, clients.PutClient(t.Context(), stores.Client{ID: "other", SecretHash: hash}))
	e := newEnv(t, func(c *oauth2.EndpointConfig) {
		c.RefreshTokens = true
		c.Clients = clients
	})

	app, ctx := e.xconf("app", "app-secret", xoauth2.AuthStyleInHeader)
	first, err := app.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
	require.NoError(t, err)

	// Client "other" cannot redeem app's refresh token.
	resp, out := e.post(t, "grant_type=refresh_token&refresh_token="+first.RefreshToken, map[string]string{"Authorization": basicAuth("other", "app-secret")})
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_grant", out["error"])

	// The legitimate client rotates: the new pair works.
	e.clk.Add(time.Minute)
	first.Expiry = time.Now().Add(-time.Second)
	second, err := app.TokenSource(ctx, first).Token()
	require.NoError(t, err)
	resp, body := e.api(t, second.AccessToken)
	require.Equal(t, 200, resp.StatusCode, body)

	// An attacker replays the stolen first refresh token: refused, and the
	// whole family — the second access and refresh tokens — dies with it.
	resp, out = e.post(t, "grant_type=refresh_token&refresh_token="+first.RefreshToken, map[string]string{"Authorization": basicAuth("app", "app-secret")})
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_grant", out["error"])
	resp, _ = e.api(t, second.AccessToken)
	assert.Equal(t, 401, resp.StatusCode, "the access token of the family is revoked")
	resp, _ = e.post(t, "grant_type=refresh_token&refresh_token="+second.RefreshToken, map[string]string{"Authorization": basicAuth("app", "app-secret")})
	assert.Equal(t, 400, resp.StatusCode, "the refresh token of the family is revoked")

	// Another login of the same user is another family, untouched.
	third, err := app.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
	require.NoError(t, err)
	resp, _ = e.api(t, third.AccessToken)
	assert.Equal(t, 200, resp.StatusCode)
}

// Attack: an access_token in a form body (FormBody on) was accepted over
// plain HTTP: the HTTPS refusal did not look in the body.
func TestFormBodyTokenRefusedOverHTTP(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin"})
	tokens := token.New(token.Config{Store: st, Users: st})
	issued, err := tokens.IssueAccess(t.Context(), &auth.Identity{User: "admin"}, nil)
	require.NoError(t, err)
	bearer := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens(), FormBody: true})
	var body string
	srv := httptest.NewServer(auth.Middleware(bearer, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	})))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api", "application/x-www-form-urlencoded", strings.NewReader("access_token="+issued.Secret+"&x=1"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode)

	tls := httptest.NewTLSServer(srv.Config.Handler)
	defer tls.Close()
	resp, err = tls.Client().Post(tls.URL+"/api", "application/x-www-form-urlencoded", strings.NewReader("access_token="+issued.Secret+"&x=1"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "over TLS the form token works")
	assert.Equal(t, "access_token="+issued.Secret+"&x=1", body, "and the handler reads the body")
}

// Attack: two Authorization headers at the token endpoint, one per reader.
func TestTokenEndpointDuplicateAuthorization(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("POST", e.srv.URL+tokenPath, strings.NewReader("grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Add("Authorization", basicAuth("a", "b"))
	req.Header.Add("Authorization", basicAuth("c", "d"))
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
}
