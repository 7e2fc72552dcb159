package oauth2_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

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

const tokenPath = "/ovirt-engine/sso/oauth/token"

type env struct {
	store memstore.Store
	clk   *authtest.Clock
	srv   *httptest.Server
	calls int
	mu    sync.Mutex
}

func newEnv(t *testing.T, mutate func(*oauth2.EndpointConfig)) *env {
	t.Helper()
	e := &env{clk: authtest.NewClock(time.Now().Truncate(time.Second))}
	e.store = authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"}, authtest.User{Login: "user@internal", Password: "u"})
	e.store.SetClock(e.clk.Now)
	tokens := token.New(token.Config{Store: e.store, Users: e.store, AccessTTL: time.Hour, Env: auth.Env{Now: e.clk.Now}})
	cfg := oauth2.EndpointConfig{
		Tokens: tokens, Passwords: &pwcheck.Pipeline{Verifier: authtest.Verifier(t, e.store), Slots: authtest.Slots}, Scopes: []string{"ovirt-app-api", "ovirt-ext=token:password-access"}, RequireScope: true,
		Env: auth.Env{Now: e.clk.Now},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	mux := http.NewServeMux()
	endpoint := oauth2.NewTokenEndpoint(cfg)
	mux.Handle(tokenPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls++
		e.mu.Unlock()
		endpoint.ServeHTTP(w, r)
	}))
	bearer := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens(), Realm: "RESTAPI"})
	mux.Handle("/ovirt-engine/api/", auth.Middleware(bearer, auth.Config{Policy: oauth2.RequireScope("RESTAPI", "ovirt-app-api")})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := auth.IdentityFrom(r.Context())
			io.WriteString(w, id.Scheme+":"+id.Login()+":"+strings.Join(id.Scopes, ","))
		})))
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) post(t *testing.T, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+tokenPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp, out
}

func (e *env) api(t *testing.T, tok string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/ovirt-engine/api/vms", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) xconf(id, secret string, style xoauth2.AuthStyle) (*xoauth2.Config, context.Context) {
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, e.srv.Client())
	return &xoauth2.Config{ClientID: id, ClientSecret: secret, Scopes: []string{"ovirt-app-api"},
		Endpoint: xoauth2.Endpoint{TokenURL: e.srv.URL + tokenPath, AuthStyle: style}}, ctx
}

func TestXOAuth2Interop(t *testing.T) {
	for _, clients := range []bool{false, true} {
		for name, style := range map[string]xoauth2.AuthStyle{"auto": xoauth2.AuthStyleAutoDetect, "header": xoauth2.AuthStyleInHeader, "params": xoauth2.AuthStyleInParams} {
			t.Run(name+"/clients="+strconv.FormatBool(clients), func(t *testing.T) {
				e := newEnv(t, func(c *oauth2.EndpointConfig) {
					if clients {
						c.Clients, c.RequireClient = storeWithClient(t), true
					}
				})
				conf, ctx := e.xconf("", "", style)
				if clients {
					conf.ClientID, conf.ClientSecret = "ovirt-sdk", "sdk secret/+&"
				}
				tok, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
				require.NoError(t, err)
				assert.Equal(t, "bearer", tok.TokenType)
				assert.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, 5*time.Second)
				assert.Equal(t, strconv.FormatInt(e.clk.Now().Add(time.Hour).UnixMilli(), 10), tok.Extra("exp"), "oVirt's exp: epoch ms as a string")
				assert.Equal(t, "ovirt-app-api", tok.Extra("scope"))
				resp, body := e.api(t, tok.AccessToken)
				assert.Equal(t, 200, resp.StatusCode, body)
				assert.Equal(t, "oauth2:admin@internal:ovirt-app-api", body)

				// The x/oauth2 client wiring works end to end too.
				resp2, err := conf.Client(ctx, tok).Get(e.srv.URL + "/ovirt-engine/api/vms")
				require.NoError(t, err)
				resp2.Body.Close()
				assert.Equal(t, 200, resp2.StatusCode)
			})
		}
	}
}

func storeWithClient(t *testing.T) memstore.Store {
	h, err := authtest.CheapHasher.Hash("sdk secret/+&")
	require.NoError(t, err)
	s := memstore.New()
	require.NoError(t, s.PutClient(context.Background(), stores.Client{ID: "ovirt-sdk", SecretHash: h}))
	require.NoError(t, s.PutClient(context.Background(), stores.Client{ID: "limited", SecretHash: h, Grants: []string{"refresh_token"}}))
	require.NoError(t, s.PutClient(context.Background(), stores.Client{ID: "narrow", SecretHash: h, Scopes: []string{"ovirt-ext=token:password-access"}}))
	return s
}

func TestCurlOVirtManual(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	e := newEnv(t, nil)
	// The request of oVirt's REST API guide, host changed.
	out, err := exec.Command(curl, "-s", "--insecure", "--header", "Accept: application/json",
		"--data", "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw",
		e.srv.URL+tokenPath).Output()
	require.NoError(t, err)
	var resp oauth2.Response
	require.NoError(t, json.Unmarshal(out, &resp), string(out))
	assert.Equal(t, "bearer", resp.TokenType)
	assert.EqualValues(t, 3600, resp.ExpiresIn)
	out, err = exec.Command(curl, "-s", "--insecure", "--header", "Authorization: Bearer "+resp.AccessToken, e.srv.URL+"/ovirt-engine/api/vms").Output()
	require.NoError(t, err)
	assert.Equal(t, "oauth2:admin@internal:ovirt-app-api", string(out))
}

func TestErrors(t *testing.T) {
	e := newEnv(t, func(c *oauth2.EndpointConfig) { c.Clients = storeWithClient(t) })
	good := "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw"
	basicHdr := func(id, secret string) map[string]string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return map[string]string{"Authorization": r.Header.Get("Authorization")}
	}
	cases := []struct {
		name, body string
		hdr        map[string]string
		status     int
		code       string
	}{
		{"ok", good, nil, 200, ""},
		{"missing grant_type", "scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw", nil, 400, "invalid_request"},
		{"repeated parameter", good + "&username=user%40internal", nil, 400, "invalid_request"},
		{"missing password", "grant_type=password&scope=ovirt-app-api&username=admin%40internal", nil, 400, "invalid_request"},
		{"bad encoding", "grant_type=password&username=%zz", nil, 400, "invalid_request"},
		{"wrong content type", good, map[string]string{"Content-Type": "application/json"}, 400, "invalid_request"},
		{"bad client secret", good, basicHdr("ovirt-sdk", "wrong"), 401, "invalid_client"},
		{"unknown client in body", good + "&client_id=nobody&client_secret=x", nil, 401, "invalid_client"},
		{"client in header and body", good + "&client_id=ovirt-sdk", basicHdr("ovirt-sdk", "sdk secret/+&"), 400, "invalid_request"},
		{"wrong password", "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=nope", nil, 400, "invalid_grant"},
		{"unknown user", "grant_type=password&scope=ovirt-app-api&username=nobody%40internal&password=nope", nil, 400, "invalid_grant"},
		{"client without the password grant", good, basicHdr("limited", "sdk secret/+&"), 400, "unauthorized_client"},
		{"unsupported grant", "grant_type=authorization_code&code=x&scope=ovirt-app-api", nil, 400, "unsupported_grant_type"},
		{"refresh not enabled", "grant_type=refresh_token&refresh_token=x", nil, 400, "unsupported_grant_type"},
		{"missing scope", "grant_type=password&username=admin%40internal&password=ovirt-pw", nil, 400, "invalid_scope"},
		{"unknown scope", "grant_type=password&scope=ovirt-app-api+admin&username=admin%40internal&password=ovirt-pw", nil, 400, "invalid_scope"},
		{"scope not for this client", good, basicHdr("narrow", "sdk secret/+&"), 400, "invalid_scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, out := e.post(t, c.body, c.hdr)
			assert.Equal(t, c.status, resp.StatusCode, out)
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "no-cache", resp.Header.Get("Pragma"))
			if c.status == 200 {
				assert.NotEmpty(t, out["access_token"])
				return
			}
			assert.Equal(t, c.code, out["error"])
			assert.NotEmpty(t, out["error_description"])
			assert.NotContains(t, out["error_description"], "nope")
			if c.status == 401 && c.hdr != nil {
				assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
			}
		})
	}
	req, _ := http.NewRequest("GET", e.srv.URL+tokenPath, nil)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)
}

// TestOVirtErrorStyle (failed before the fix: golang.org/x/oauth2's
// ErrorCode was the prose "the username or password is incorrect"): the
// oVirt face's errors are RFC 6749's, with oVirt's error_code beside them.
// golang.org/x/oauth2 reads invalid_grant and the description; the oVirt
// SDKs for Python and Ruby read (error, error_description), those for Java
// and Go error_code and error.
func TestOVirtErrorStyle(t *testing.T) {
	e := newEnv(t, func(c *oauth2.EndpointConfig) { c.ErrorCodeField = "error_code" })
	resp, out := e.post(t, "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=nope", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_grant", out["error"])
	assert.Equal(t, "invalid_grant", out["error_code"])
	assert.Equal(t, "the username or password is incorrect", out["error_description"])

	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, e.srv.Client())
	conf := &xoauth2.Config{ClientID: "ovirt-engine-sdk", Scopes: []string{"ovirt-app-api"},
		Endpoint: xoauth2.Endpoint{TokenURL: e.srv.URL + tokenPath, AuthStyle: xoauth2.AuthStyleInParams}}
	_, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "nope")
	var re *xoauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	assert.Equal(t, "the username or password is incorrect", re.ErrorDescription)
}

func TestBearerOnResources(t *testing.T) {
	e := newEnv(t, nil)
	_, out := e.post(t, "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw", nil)
	tok := out["access_token"].(string)

	resp, _ := e.api(t, "")
	assert.Equal(t, 401, resp.StatusCode)
	assert.Equal(t, `Bearer realm="RESTAPI"`, resp.Header.Get("WWW-Authenticate"))

	resp, _ = e.api(t, "gate_at_garbage")
	assert.Equal(t, 401, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)

	// Insufficient scope: a token without ovirt-app-api.
	_, narrow := e.post(t, "grant_type=password&scope=ovirt-ext%3Dtoken%3Apassword-access&username=admin%40internal&password=ovirt-pw", nil)
	resp, _ = e.api(t, narrow["access_token"].(string))
	assert.Equal(t, 403, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)

	// Expiry on the injected clock.
	e.clk.Add(time.Hour)
	resp, _ = e.api(t, tok)
	assert.Equal(t, 401, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token", error_description="token expired"`)
}

func TestBearerQueryAndFormOptIn(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "u"})
	tokens := token.New(token.Config{Store: st, Users: st})
	issued, err := tokens.IssueAccess(context.Background(), &auth.Identity{User: "u"}, nil)
	require.NoError(t, err)
	off := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()})
	on := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens(), Query: true, FormBody: true})
	q := httptest.NewRequest("GET", "/x?access_token="+issued.Secret, nil)
	_, err = off.Authenticate(q)
	assert.ErrorIs(t, err, auth.ErrNoCredentials, "query tokens are off by default")
	_, err = on.Authenticate(q)
	assert.NoError(t, err)
	f := httptest.NewRequest("POST", "/x", strings.NewReader("access_token="+issued.Secret))
	f.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = on.Authenticate(f)
	assert.NoError(t, err)
	both := httptest.NewRequest("GET", "/x?access_token="+issued.Secret, nil)
	both.Header.Set("Authorization", "Bearer "+issued.Secret)
	_, err = on.Authenticate(both)
	assert.Equal(t, auth.ReasonMalformed, auth.AsError(err).Reason, "one method only")
}

func TestAutoDetectRetryCountsOnce(t *testing.T) {
	counter := memstore.New()
	e := newEnv(t, func(c *oauth2.EndpointConfig) {
		c.Passwords.Throttle = &pwcheck.Throttle{Counter: counter, MaxPerUser: 3}
	})
	conf, ctx := e.xconf("", "", xoauth2.AuthStyleAutoDetect)
	_, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "wrong")
	var re *xoauth2.RetrieveError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	assert.Equal(t, 2, e.calls, "x/oauth2 auto-detect sent the request twice")
	n, _, _ := counter.Failures(ctx, "user", "admin@internal")
	assert.Equal(t, 1, n, "…and it counts as one failure")

	for range 2 {
		_, _ = conf.PasswordCredentialsToken(ctx, "admin@internal", "wrong-"+strconv.Itoa(e.calls))
	}
	resp, out := e.post(t, "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw", nil)
	assert.Equal(t, 429, resp.StatusCode, out)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	resp, _ = e.post(t, "grant_type=password&scope=ovirt-app-api&username=user%40internal&password=u", nil)
	assert.Equal(t, 200, resp.StatusCode, "other users are not slowed")
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, func(c *oauth2.EndpointConfig) { c.RefreshTokens = true })
	conf, ctx := e.xconf("", "", xoauth2.AuthStyleInParams)
	tok, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok.RefreshToken, token.PrefixRefresh))
	e.clk.Add(2 * time.Hour)
	tok.Expiry = time.Now().Add(-time.Second) // make x/oauth2 refresh
	fresh, err := conf.TokenSource(ctx, tok).Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	assert.NotEqual(t, tok.RefreshToken, fresh.RefreshToken, "rotated")
	resp, body := e.api(t, fresh.AccessToken)
	assert.Equal(t, 200, resp.StatusCode, body)

	resp, out := e.post(t, "grant_type=refresh_token&scope=ovirt-app-api+ovirt-ext%3Dtoken%3Apassword-access&refresh_token="+fresh.RefreshToken, nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_scope", out["error"], "no widening of scope")
	resp, out = e.post(t, "grant_type=refresh_token&refresh_token="+tok.RefreshToken, nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_grant", out["error"], "a refresh token is used once")
}

func TestClientHelperRenewsOn401(t *testing.T) {
	e := newEnv(t, nil)
	c, err := oauth2.NewPasswordClient(context.Background(), oauth2.PasswordClientConfig{
		TokenURL: e.srv.URL + tokenPath, Username: "admin@internal", Password: "ovirt-pw",
		Scopes: []string{"ovirt-app-api"}, Base: e.srv.Client().Transport,
	})
	require.NoError(t, err)
	get := func() int {
		resp, err := c.Get(e.srv.URL + "/ovirt-engine/api/vms")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, get())
	before := e.calls
	// The server's clock passes the expiry; the client's token still looks
	// valid to it, gets a 401, fetches a new token and retries.
	e.clk.Add(2 * time.Hour)
	assert.Equal(t, 200, get())
	assert.Greater(t, e.calls, before)
	_, err = oauth2.NewPasswordClient(context.Background(), oauth2.PasswordClientConfig{
		TokenURL: e.srv.URL + tokenPath, Username: "admin@internal", Password: "bad",
		Scopes: []string{"ovirt-app-api"}, Base: e.srv.Client().Transport,
	})
	assert.Error(t, err)
}

func TestPlainHTTPRefused(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "u", Password: "p"})
	tokens := token.New(token.Config{Store: st, Users: st})
	ep := oauth2.NewTokenEndpoint(oauth2.EndpointConfig{Tokens: tokens, Passwords: &pwcheck.Pipeline{Verifier: pwcheck.NewCache(pwcheck.CacheConfig{Next: &pwcheck.StoreVerifier{Users: st}, Users: st})}})
	req := httptest.NewRequest("POST", "http://x"+tokenPath, strings.NewReader("grant_type=password&username=u&password=p"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	ep.ServeHTTP(rec, req)
	assert.Equal(t, 400, rec.Code)
	assert.Contains(t, rec.Body.String(), "HTTPS")
}

func TestAuditNeverLogsSecrets(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	e := newEnv(t, func(c *oauth2.EndpointConfig) { c.Env.Audit = logger })
	e.post(t, "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=hunter2", nil)
	e.post(t, "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw", nil)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	assert.Contains(t, out, `"outcome":"fail"`)
	assert.Contains(t, out, `"code":"invalid_grant"`)
	assert.Contains(t, out, `"outcome":"allow"`)
	assert.Contains(t, out, `"user":"admin@internal"`)
	assert.NotContains(t, out, "hunter2")
	assert.NotContains(t, out, "ovirt-pw")
	assert.NotContains(t, out, "gate_at_")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
