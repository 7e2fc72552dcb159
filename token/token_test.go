package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

type env struct {
	store memstore.Store
	svc   *token.Service
	clk   *authtest.Clock
	srv   *httptest.Server
}

// newEnv serves, over TLS: POST /xcatws/tokens (xCAT issuing), /xcatws/*
// behind access tokens with the xCAT responder, /api/* behind Basic (with
// PATs) with the Foreman responder.
func newEnv(t *testing.T, cfg token.Config) *env {
	t.Helper()
	e := &env{clk: authtest.NewClock(time.Date(2026, 3, 10, 9, 56, 12, 0, time.UTC))}
	e.store = authtest.Users(
		authtest.User{Login: "wsuser", Password: "cluster-secret"},
		authtest.User{Login: "admin", Password: "satellite-pw"},
		authtest.User{Login: "other", Password: "other-pw"})
	e.store.SetClock(e.clk.Now)
	cfg.Store, cfg.Users, cfg.Env.Now = e.store, e.store, e.clk.Now
	e.svc = token.New(cfg)

	passwords := authtest.Verifier(t, e.store)
	mux := http.NewServeMux()
	mux.Handle("/xcatws/tokens", &preset.XCATTokens{Service: e.svc, Passwords: &pwcheck.Pipeline{Verifier: passwords}, Location: time.UTC})
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		io.WriteString(w, id.Scheme+":"+id.Login())
	})
	xcat := auth.Chain(token.XAuthToken(e.svc.AccessTokens()), oauth2.NewBearer(oauth2.BearerConfig{Verifier: e.svc.AccessTokens(), Realm: "xCAT", Scheme: auth.SchemeToken}))
	mux.Handle("/xcatws/", auth.Middleware(xcat, auth.Config{Responder: preset.XCATDialect()})(whoami))
	pat := basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(e.svc.PATs(), pwcheck.NewCache(pwcheck.CacheConfig{Next: passwords, Users: e.store, TTL: time.Minute}))}})
	mux.Handle("/api/", auth.Middleware(pat, auth.Config{Responder: preset.ForemanDialect()})(whoami))
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) do(t *testing.T, method, path, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) issue(t *testing.T, path, body string, hdr map[string]string) xcatTokenResponse {
	t.Helper()
	resp, b := e.do(t, "POST", path, body, hdr)
	require.Equal(t, 201, resp.StatusCode, b)
	var out xcatTokenResponse
	require.NoError(t, json.Unmarshal([]byte(b), &out))
	return out
}

func TestFormat(t *testing.T) {
	re := regexp.MustCompile(`^gate_(at|pat)_[0-9A-Za-z]{49}$`)
	seen := map[string]bool{}
	for range 200 {
		for _, p := range []string{token.PrefixAccess, token.PrefixPAT} {
			s, err := token.Generate(p)
			require.NoError(t, err)
			assert.Regexp(t, re, s)
			got, err := token.Parse(s)
			require.NoError(t, err)
			assert.Equal(t, p, got)
			assert.False(t, seen[s])
			seen[s] = true
		}
	}
	s, _ := token.Generate(token.PrefixAccess)
	for i := len(token.PrefixAccess); i < len(s); i++ { // every single-character typo is caught
		c := byte('a')
		if s[i] == 'a' {
			c = 'b'
		}
		typo := s[:i] + string(c) + s[i+1:]
		_, err := token.Parse(typo)
		assert.ErrorIs(t, err, token.ErrChecksum, "position %d", i)
	}
	swapped := token.PrefixPAT + s[len(token.PrefixAccess):]
	_, err := token.Parse(swapped)
	assert.ErrorIs(t, err, token.ErrFormat, "a changed prefix fails the checksum")
	for _, bad := range []string{"", "gate_at_", s[:len(s)-1], s + "0", "ghp_" + s[8:], strings.Replace(s, s[10:11], "-", 1)} {
		_, err := token.Parse(bad)
		assert.ErrorIs(t, err, token.ErrFormat, bad)
	}
}

func TestAccessTokenLifecycle(t *testing.T) {
	e := newEnv(t, token.Config{})
	// xCAT's own request shape.
	out := e.issue(t, "/xcatws/tokens?pretty=1", `{"userName":"wsuser","userPW":"cluster-secret"}`, map[string]string{"Content-Type": "application/json"})
	assert.Equal(t, "2026-3-11 9:56:12", out.Token.Expire, "one day, xCAT's format")
	assert.Equal(t, "2026-03-11T09:56:12Z", out.Token.ExpiresAt)
	assert.True(t, strings.HasPrefix(out.Token.ID, token.PrefixAccess))

	for _, hdr := range []map[string]string{{"X-Auth-Token": out.Token.ID}, {"Authorization": "Bearer " + out.Token.ID}} {
		resp, body := e.do(t, "GET", "/xcatws/nodes", "", hdr)
		assert.Equal(t, 200, resp.StatusCode, body)
		assert.Equal(t, "token:wsuser", body)
	}

	e.clk.Add(24*time.Hour - time.Second)
	resp, _ := e.do(t, "GET", "/xcatws/nodes", "", map[string]string{"X-Auth-Token": out.Token.ID})
	assert.Equal(t, 200, resp.StatusCode, "valid until the last second")
	e.clk.Add(time.Second)
	resp, body := e.do(t, "GET", "/xcatws/nodes", "", map[string]string{"X-Auth-Token": out.Token.ID})
	assert.Equal(t, 401, resp.StatusCode)
	assert.JSONEq(t, `{"error":"Authentication failure","errorcode":"2"}`, body)

	// Unknown and mistyped tokens.
	other, _ := token.Generate(token.PrefixAccess)
	for _, tok := range []string{other, out.Token.ID[:20] + "x" + out.Token.ID[21:], "garbage"} {
		resp, body := e.do(t, "GET", "/xcatws/nodes", "", map[string]string{"X-Auth-Token": tok})
		assert.Equal(t, 401, resp.StatusCode)
		assert.JSONEq(t, `{"error":"Authentication failure","errorcode":"2"}`, body)
	}
	resp, _ = e.do(t, "GET", "/xcatws/nodes", "", map[string]string{"X-Auth-Token": other, "Authorization": "Bearer " + other})
	assert.Equal(t, 400, resp.StatusCode, "both headers at once")
}

func TestIssueCredentialSources(t *testing.T) {
	e := newEnv(t, token.Config{})
	// Query credentials win over the body, as in xCAT.
	out := e.issue(t, "/xcatws/tokens?userName=admin&userPW=satellite-pw", `{"userName":"wsuser","userPW":"wrong"}`, nil)
	resp, body := e.do(t, "GET", "/xcatws/x", "", map[string]string{"X-Auth-Token": out.Token.ID})
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "token:admin", body)
	// Legacy parameter name, and Basic.
	e.issue(t, "/xcatws/tokens?userName=admin&password=satellite-pw", "", nil)
	req, _ := http.NewRequest("POST", e.srv.URL+"/xcatws/tokens", nil)
	req.SetBasicAuth("wsuser", "cluster-secret")
	r2, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	assert.Equal(t, 201, r2.StatusCode)

	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/xcatws/tokens", `{"userName":"wsuser","userPW":"wrong"}`, 401},
		{"POST", "/xcatws/tokens", `{"userName":"nobody","userPW":"x"}`, 401},
		{"POST", "/xcatws/tokens", `{"userName":"wsuser"`, 400},
		{"POST", "/xcatws/tokens", `{"userName":"wsuser"}`, 400},
		{"POST", "/xcatws/tokens", `{"userName":"","userPW":"x"}`, 400},
		{"POST", "/xcatws/tokens", ``, 401},
		{"GET", "/xcatws/tokens", ``, 405},
	} {
		resp, body := e.do(t, c.method, c.path, c.body, nil)
		assert.Equal(t, c.status, resp.StatusCode, "%s %s", c.body, body)
		assert.NotContains(t, body, "wrong")
	}
}

func TestNeverExpiringTokens(t *testing.T) {
	ttl, err := preset.ParseExpireDays("never")
	require.NoError(t, err)
	e := newEnv(t, token.Config{AccessTTL: ttl})
	out := e.issue(t, "/xcatws/tokens", `{"userName":"wsuser","userPW":"cluster-secret"}`, nil)
	assert.Equal(t, "never", out.Token.Expire)
	assert.Empty(t, out.Token.ExpiresAt)
	e.clk.Add(10 * 365 * 24 * time.Hour)
	resp, _ := e.do(t, "GET", "/xcatws/nodes", "", map[string]string{"X-Auth-Token": out.Token.ID})
	assert.Equal(t, 200, resp.StatusCode)
}

func TestTokensStopWhenUserDisabled(t *testing.T) {
	e := newEnv(t, token.Config{})
	out := e.issue(t, "/xcatws/tokens", `{"userName":"wsuser","userPW":"cluster-secret"}`, nil)
	authtest.PutUser(t, e.store, authtest.User{Login: "wsuser", Password: "cluster-secret", Disabled: true})
	resp, _ := e.do(t, "GET", "/xcatws/nodes", "", map[string]string{"X-Auth-Token": out.Token.ID})
	assert.Equal(t, 401, resp.StatusCode)
}

func TestStoredOnlyAsHash(t *testing.T) {
	e := newEnv(t, token.Config{HashKey: []byte("0123456789abcdef0123456789abcdef")})
	ctx := context.Background()
	out := e.issue(t, "/xcatws/tokens", `{"userName":"wsuser","userPW":"cluster-secret"}`, nil)
	pat, err := e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "ci"})
	require.NoError(t, err)
	for _, login := range []string{"wsuser", "admin"} {
		ts, err := e.store.ListTokens(ctx, login, "")
		require.NoError(t, err)
		require.Len(t, ts, 1)
		raw, _ := json.Marshal(ts)
		assert.NotContains(t, string(raw), out.Token.ID[len(token.PrefixAccess):])
		assert.NotContains(t, string(raw), pat.Secret[len(token.PrefixPAT):])
		assert.Len(t, ts[0].Hash, 64)
	}
}

func TestPATAsBasicPassword(t *testing.T) {
	e := newEnv(t, token.Config{TouchInterval: time.Hour})
	ctx := context.Background()
	pat, err := e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "automation"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(pat.Secret, token.PrefixPAT))

	get := func(user, pw string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/hosts", nil)
		req.SetBasicAuth(user, pw)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("admin", pat.Secret)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "pat:admin", body)
	resp, body = get("admin", "satellite-pw")
	assert.Equal(t, 200, resp.StatusCode, "the password still works")
	assert.Equal(t, "basic:admin", body)

	resp, body = get("other", pat.Secret)
	assert.Equal(t, 401, resp.StatusCode, "a PAT only works for its owner")
	assert.JSONEq(t, `{"error":{"message":"Unable to authenticate user other"}}`, body)

	// Listing: no secret, last use recorded (coalesced, flushed by List).
	list, err := e.svc.List(ctx, "admin", stores.TokenPAT)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "automation", list[0].Name)
	assert.Empty(t, list[0].Hash)
	assert.Equal(t, e.clk.Now(), list[0].LastUsed)
	assert.True(t, list[0].Expires.IsZero())

	_, err = e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "automation"})
	assert.ErrorIs(t, err, stores.ErrConflict, "names are unique per user")
	_, err = e.svc.CreatePAT(ctx, token.PATSpec{Login: "other", Name: "automation"})
	assert.NoError(t, err, "another user may use the name")
	_, err = e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: ""})
	assert.ErrorIs(t, err, token.ErrBadName)
	_, err = e.svc.CreatePAT(ctx, token.PATSpec{Login: "nobody", Name: "x"})
	assert.ErrorIs(t, err, stores.ErrNotFound)

	// Revocation bites on the next request, with Foreman's exact message.
	assert.ErrorIs(t, e.svc.Revoke(ctx, "other", list[0].ID), stores.ErrNotFound, "not other's to revoke")
	require.NoError(t, e.svc.Revoke(ctx, "admin", list[0].ID))
	resp, body = get("admin", pat.Secret)
	assert.Equal(t, 401, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"Unable to authenticate user admin"}}`, body)
	list, _ = e.svc.List(ctx, "admin", stores.TokenPAT)
	assert.False(t, list[0].Revoked.IsZero())
}

func TestPATExpiry(t *testing.T) {
	e := newEnv(t, token.Config{})
	ctx := context.Background()
	pat, err := e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "short", Expires: e.clk.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "past", Expires: e.clk.Now().Add(-time.Hour)})
	assert.Error(t, err)
	req, err := http.NewRequest("GET", e.srv.URL+"/api/x", nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", pat.Secret)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	e.clk.Add(time.Hour)
	resp, body := e.do(t, "GET", "/api/x", "", map[string]string{"Authorization": req.Header.Get("Authorization")})
	assert.Equal(t, 401, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"Unable to authenticate user admin"}}`, body)
}

func TestPATWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	e := newEnv(t, token.Config{})
	ctx := context.Background()
	pat, err := e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "curl"})
	require.NoError(t, err)
	out, err := exec.Command(curl, "-sk", "--user", "admin:"+pat.Secret, e.srv.URL+"/api/hosts").Output()
	require.NoError(t, err)
	assert.Equal(t, "pat:admin", string(out))
	list, _ := e.svc.List(ctx, "admin", stores.TokenPAT)
	require.NoError(t, e.svc.Revoke(ctx, "", list[0].ID))
	out, err = exec.Command(curl, "-sk", "--user", "admin:"+pat.Secret, e.srv.URL+"/api/hosts").Output()
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":{"message":"Unable to authenticate user admin"}}`, string(out))

	// xCAT's curl recipe for tokens.
	out, err = exec.Command(curl, "-sk", "-X", "POST", "-H", "Content-Type: application/json",
		"--data", `{"userName":"wsuser","userPW":"cluster-secret"}`, e.srv.URL+"/xcatws/tokens?pretty=1").Output()
	require.NoError(t, err)
	var issued xcatTokenResponse
	require.NoError(t, json.Unmarshal(out, &issued), string(out))
	out, err = exec.Command(curl, "-sk", "-H", "X-Auth-Token: "+issued.Token.ID, e.srv.URL+"/xcatws/nodes").Output()
	require.NoError(t, err)
	assert.Equal(t, "token:wsuser", string(out))
}

func TestLastUsedCoalesced(t *testing.T) {
	e := newEnv(t, token.Config{TouchInterval: time.Minute})
	ctx := context.Background()
	pat, err := e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "busy"})
	require.NoError(t, err)
	v := pwcheck.AcceptTokens(e.svc.PATs(), authtest.Verifier(t, e.store))
	for range 100 {
		_, err := v.VerifyPassword(ctx, "admin", pat.Secret)
		require.NoError(t, err)
	}
	stored, _ := e.store.TokenByID(ctx, pat.Token.ID)
	assert.True(t, stored.LastUsed.IsZero(), "no write per request")
	e.clk.Add(time.Minute)
	_, err = v.VerifyPassword(ctx, "admin", pat.Secret)
	require.NoError(t, err)
	stored, _ = e.store.TokenByID(ctx, pat.Token.ID)
	assert.Equal(t, e.clk.Now(), stored.LastUsed, "one batch per interval")
}

func hsKey(id string) token.JWTKey {
	return token.JWTKey{ID: id, Alg: "HS256", Secret: []byte(strings.Repeat(id, 32)[:32])}
}

func TestJWTRotationAndRevocation(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, newest := range []token.JWTKey{hsKey("k2"), {ID: "k2", Alg: "EdDSA", Signer: edPriv}, {ID: "k2", Alg: "ES256", Signer: ecPriv}} {
		t.Run(newest.Alg, func(t *testing.T) {
			ctx := context.Background()
			old, err := token.NewJWT(token.JWTConfig{Issuer: "https://gatehouse.test", Audience: "api", Keys: []token.JWTKey{hsKey("k1")}})
			require.NoError(t, err)
			e := newEnv(t, token.Config{JWT: old})
			first := e.issue(t, "/xcatws/tokens", `{"userName":"wsuser","userPW":"cluster-secret"}`, nil)
			assert.Equal(t, 2, strings.Count(first.Token.ID, "."))

			rotated, err := token.NewJWT(token.JWTConfig{Issuer: "https://gatehouse.test", Audience: "api", Keys: []token.JWTKey{hsKey("k1"), newest}})
			require.NoError(t, err)
			e2 := token.New(token.Config{Store: e.store, Users: e.store, JWT: rotated, Env: auth.Env{Now: e.clk.Now}})
			id, err := e2.Verify(ctx, first.Token.ID, token.PrefixAccess, auth.SchemeToken)
			require.NoError(t, err, "old key still verifies")
			assert.Equal(t, "wsuser", id.User)
			issued, err := e2.IssueAccess(ctx, &auth.Identity{User: "admin"}, []string{"ovirt-app-api"})
			require.NoError(t, err)
			hdr, _, _ := strings.Cut(issued.Secret, ".")
			raw, _ := jwt.NewParser().DecodeSegment(hdr)
			assert.Contains(t, string(raw), `"kid":"k2"`, "newest key signs")
			id, err = e2.Verify(ctx, issued.Secret, token.PrefixAccess, auth.SchemeToken)
			require.NoError(t, err)
			assert.Equal(t, []string{"ovirt-app-api"}, id.Scopes)

			onlyNew, err := token.NewJWT(token.JWTConfig{Issuer: "https://gatehouse.test", Audience: "api", Keys: []token.JWTKey{newest}})
			require.NoError(t, err)
			e3 := token.New(token.Config{Store: e.store, Users: e.store, JWT: onlyNew, Env: auth.Env{Now: e.clk.Now}})
			_, err = e3.Verify(ctx, first.Token.ID, token.PrefixAccess, auth.SchemeToken)
			assert.Error(t, err, "a dropped key no longer verifies")

			// Revocation by jti, through the store.
			require.NoError(t, e2.Revoke(ctx, "", issued.Token.ID))
			_, err = e2.Verify(ctx, issued.Secret, token.PrefixAccess, auth.SchemeToken)
			assert.Equal(t, auth.ReasonRevoked, auth.AsError(err).Reason)

			// Expiry.
			e.clk.Add(25 * time.Hour)
			_, err = e2.Verify(ctx, first.Token.ID, token.PrefixAccess, auth.SchemeToken)
			assert.Equal(t, auth.ReasonExpired, auth.AsError(err).Reason)
		})
	}
}

func TestJWTAttacks(t *testing.T) {
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	codec, err := token.NewJWT(token.JWTConfig{Issuer: "https://gatehouse.test", Audience: "api", Keys: []token.JWTKey{token.JWTKey{ID: "ec", Alg: "ES256", Signer: ecPriv}}})
	require.NoError(t, err)
	e := newEnv(t, token.Config{JWT: codec})
	ctx := context.Background()
	now := e.clk.Now()
	claims := jwt.MapClaims{"iss": "https://gatehouse.test", "aud": "api", "sub": "wsuser", "jti": "x1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}

	verify := func(s string) error {
		_, err := e.svc.Verify(ctx, s, token.PrefixAccess, auth.SchemeToken)
		return err
	}
	sign := func(c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
		tok.Header["kid"] = "ec"
		s, err := tok.SignedString(ecPriv)
		require.NoError(t, err)
		return s
	}
	// Attack: a JWT whose jti this service never issued (minted with a
	// leaked key) used to pass; now only recorded ones do.
	require.Error(t, verify(sign(claims)), "jti never issued")
	u, _ := e.store.User(ctx, "wsuser")
	require.NoError(t, e.store.CreateToken(ctx, stores.Token{ID: "x1", Kind: stores.TokenJWT, User: "wsuser", UserID: u.ID,
		PasswordStamp: u.PasswordChanged, Created: now, Expires: now.Add(time.Hour)}))
	// The genuine article works.
	s := sign(claims)
	require.NoError(t, verify(s))
	// Attack: a JWT without exp never expired.
	noExp := jwt.MapClaims{}
	for k, v := range claims {
		noExp[k] = v
	}
	delete(noExp, "exp")
	assert.Error(t, verify(sign(noExp)), "exp is required")

	// alg: none.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	none.Header["kid"] = "ec"
	s, err = none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	assert.Error(t, verify(s))

	// HS256 signed with the public key's bytes (algorithm confusion).
	pubDER, _ := x509.MarshalPKIXPublicKey(&ecPriv.PublicKey)
	confused := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	confused.Header["kid"] = "ec"
	s, err = confused.SignedString(pubDER)
	require.NoError(t, err)
	assert.Error(t, verify(s))

	// Wrong issuer, wrong audience, future nbf, unknown kid, other key.
	for name, mutate := range map[string]func(jwt.MapClaims){
		"iss": func(c jwt.MapClaims) { c["iss"] = "https://evil" },
		"aud": func(c jwt.MapClaims) { c["aud"] = "other" },
		"nbf": func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() },
		"exp": func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() },
		"iat": func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() },
	} {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		mutate(c)
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
		tok.Header["kid"] = "ec"
		s, _ := tok.SignedString(ecPriv)
		assert.Error(t, verify(s), name)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	forged.Header["kid"] = "ec"
	s, _ = forged.SignedString(otherKey)
	assert.Error(t, verify(s))
}

func TestJWTConfigErrors(t *testing.T) {
	_, err := token.NewJWT(token.JWTConfig{Audience: "api", Keys: []token.JWTKey{hsKey("a")}})
	assert.Error(t, err)
	_, err = token.NewJWT(token.JWTConfig{Issuer: "iss", Audience: "api", Keys: []token.JWTKey{token.JWTKey{ID: "a", Alg: "HS256", Secret: []byte("short")}}})
	assert.Error(t, err)
	_, err = token.NewJWT(token.JWTConfig{Issuer: "iss", Audience: "api", Keys: []token.JWTKey{token.JWTKey{ID: "a", Alg: "none"}}})
	assert.Error(t, err)
	_, err = token.NewJWT(token.JWTConfig{Issuer: "iss", Audience: "api", Keys: []token.JWTKey{hsKey("a"), hsKey("a")}})
	assert.Error(t, err)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	_, err = token.NewJWT(token.JWTConfig{Issuer: "iss", Audience: "api", Keys: []token.JWTKey{token.JWTKey{ID: "a", Alg: "EdDSA", Public: edPub}}})
	assert.Error(t, err, "verify-only keys alone cannot sign")
}

// TestLastUsedConcurrent: requests with one token on many goroutines, with
// flushes in between and the clock moving, leave the newest use recorded
// (to lastUsedResolution) and lose none to a flush that forgot an idle
// entry.
func TestLastUsedConcurrent(t *testing.T) {
	e := newEnv(t, token.Config{TouchInterval: time.Hour})
	ctx := context.Background()
	pat, err := e.svc.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "shared"})
	require.NoError(t, err)
	for round := range 5 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 200 {
					if _, err := e.svc.Verify(ctx, pat.Secret, token.PrefixPAT, auth.SchemePAT); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for range 3 { // flushes racing the requests; an empty one forgets the entry
			require.NoError(t, e.svc.Flush(ctx))
		}
		wg.Wait()
		require.NoError(t, e.svc.Flush(ctx))
		stored, err := e.store.TokenByID(ctx, pat.Token.ID)
		require.NoError(t, err)
		assert.True(t, stored.LastUsed.Equal(e.clk.Now()), "round %d: last used %v, want %v", round, stored.LastUsed, e.clk.Now())
		require.NoError(t, e.svc.Flush(ctx)) // nothing pending: the idle entry is forgotten
		e.clk.Add(2 * time.Second)
	}
}

// xcatTokenResponse is xCAT's 201 body for a token request.
type xcatTokenResponse struct {
	Token struct {
		ID        string `json:"id"`
		Expire    string `json:"expire"`
		ExpiresAt string `json:"expires_at,omitempty"`
	} `json:"token"`
}
