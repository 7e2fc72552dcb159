package oauth1_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dghubble "github.com/dghubble/oauth1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/oauthsig"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/store/memstore"
)

const (
	consumerKey    = "katello"
	consumerSecret = "s3cr3t+/=&key-0123"
)

// recorder keeps the last request the signing client sent, so tests can
// replay or tamper with a genuinely signed request.
type recorder struct {
	mu   sync.Mutex
	last *http.Request
	body []byte
	next http.RoundTripper
	// mutate, when set, changes the request after it was signed.
	mutate func(*http.Request)
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	rec.mu.Lock()
	if rec.mutate != nil {
		rec.mutate(r)
	}
	rec.last, rec.body = r.Clone(r.Context()), body
	rec.mu.Unlock()
	return rec.next.RoundTrip(r)
}

type env struct {
	store memstore.Store
	srv   *httptest.Server
	rec   *recorder
	now   time.Time
}

func newEnv(t *testing.T, mutate func(*oauth1.Config)) *env {
	t.Helper()
	e := &env{now: time.Now()}
	e.store = authtest.Users(
		authtest.User{Login: "admin", Password: "x"},
		authtest.User{Login: "Jsmith", Password: "x"},
		authtest.User{Login: "gone", Password: "x", Disabled: true})
	ctx := context.Background()
	require.NoError(t, e.store.PutConsumer(ctx, stores.Consumer{Key: consumerKey, Secret: consumerSecret}))
	require.NoError(t, e.store.PutConsumer(ctx, stores.Consumer{Key: "limited", Secret: "limited-secret-0123", Users: []string{"jsmith"}}))
	require.NoError(t, e.store.PutConsumer(ctx, stores.Consumer{Key: "off", Secret: "off-secret-0123456", Disabled: true}))
	cfg := oauth1.Config{Consumers: e.store, Nonces: e.store, Users: e.store}
	if mutate != nil {
		mutate(&cfg)
	}
	a := oauth1.New(cfg)
	h := auth.Middleware(a, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s:%s:%s:%s", id.Scheme, id.Login(), id.Attrs["consumer_key"], body)
	}))
	e.srv = httptest.NewTLSServer(h)
	t.Cleanup(e.srv.Close)
	e.rec = &recorder{next: e.srv.Client().Transport}
	return e
}

func (e *env) client(key, secret, user string, signed bool) *http.Client {
	return oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: key, ConsumerSecret: secret, User: user, Signed: signed, Base: e.rec})
}

// read returns a function that takes a client call's results: read(t)(c.Do(req)).
func read(t *testing.T) func(*http.Response, error) (int, string) {
	return func(resp *http.Response, err error) (int, string) {
		t.Helper()
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

func problem(t *testing.T, body string) string {
	t.Helper()
	var p httpx.Problem
	require.NoError(t, json.Unmarshal([]byte(body), &p), body)
	return p.Detail
}

func TestDghubbleInterop(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(consumerKey, consumerSecret, "admin", false)
	cases := []struct {
		name, method, path, ctype, body string
	}{
		{"plain GET", "GET", "/api/hosts", "", ""},
		{"query parameters", "GET", "/api/hosts?search=" + url.QueryEscape("name ~ web* & os = \"RHEL\"") + "&per_page=20", "", ""},
		{"non-ASCII and reserved characters", "GET", "/api/hosts?q=" + url.QueryEscape("zoë:!*'();@&=+$,/?#[]~") + "&empty=", "", ""},
		{"encoded path", "GET", "/api/hosts/web%2001.example.com", "", ""},
		{"form body", "POST", "/api/hosts", "application/x-www-form-urlencoded", "host%5Bname%5D=web01&note=" + url.QueryEscape("ünïcode & more")},
		{"JSON body", "PUT", "/api/hosts/1", "application/json", `{"host":{"name":"web01"}}`},
		{"DELETE", "DELETE", "/api/hosts/1", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			status, body := read(t)(c.Do(req))
			require.Equal(t, 200, status, body)
			assert.Equal(t, "oauth1:admin:"+consumerKey+":"+tc.body, body, "the handler still gets the body")
			nonce := e.rec.last.Header.Get("Authorization")
			assert.Contains(t, nonce, `oauth_token=""`, "dghubble sends an empty token for 1-legged use")
		})
	}
}

func TestForemanUserMapping(t *testing.T) {
	e := newEnv(t, nil)
	get := func(c *http.Client) (int, string) {
		return read(t)(c.Get(e.srv.URL + "/api/status"))
	}
	status, body := get(e.client(consumerKey, consumerSecret, "jsmith", false))
	assert.Equal(t, 200, status, body)
	assert.Equal(t, "oauth1:Jsmith:katello:", body, "case-insensitive match, the stored name wins")

	for _, c := range []struct{ user, want string }{{"nobody", "unknown user"}, {"gone", "unknown user"}, {"", "missing FOREMAN-USER"}} {
		status, body := get(e.client(consumerKey, consumerSecret, c.user, false))
		assert.Equal(t, 401, status, c.user)
		assert.Contains(t, problem(t, body), c.want)
	}
	status, body = get(e.client("limited", "limited-secret-0123", "admin", false))
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, body), "may not act as that user")
	status, _ = get(e.client("limited", "limited-secret-0123", "jsmith", false))
	assert.Equal(t, 200, status)
}

func TestMappingModes(t *testing.T) {
	none := newEnv(t, func(c *oauth1.Config) { c.Mapping = stores.ConsumerMapNone })
	status, body := read(t)(none.client(consumerKey, consumerSecret, "", false).Get(none.srv.URL + "/api"))
	assert.Equal(t, 200, status, body)
	assert.Equal(t, "oauth1:foreman_api_admin:katello:", body)

	strict := newEnv(t, func(c *oauth1.Config) { c.Mapping = stores.ConsumerMapSigned })
	status, body = read(t)(strict.client(consumerKey, consumerSecret, "admin", true).Get(strict.srv.URL + "/api?x=1"))
	assert.Equal(t, 200, status, body)
	assert.Equal(t, "oauth1:admin:katello:", body)
	status, body = read(t)(strict.client(consumerKey, consumerSecret, "admin", false).Get(strict.srv.URL + "/api"))
	assert.Equal(t, 401, status, "an unsigned user header is not enough")
	assert.Contains(t, problem(t, body), "xoauth_requestor_id")

	// A signed request for admin whose header is switched to another user.
	strict.rec.mutate = func(r *http.Request) { r.Header.Set("FOREMAN-USER", "jsmith") }
	status, body = read(t)(strict.client(consumerKey, consumerSecret, "admin", true).Get(strict.srv.URL + "/api"))
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, body), "differs from the signed")
}

// TestConsumerOwnMapping: a consumer's stored Mapping overrides the
// authenticator's (Foreman's oauth_map_users, per consumer): one server,
// three consumers, three behaviours.
func TestConsumerOwnMapping(t *testing.T) {
	e := newEnv(t, nil) // MapHeader
	ctx := context.Background()
	for key, m := range map[string]string{"admin-api": stores.ConsumerMapNone, "strict": stores.ConsumerMapSigned} {
		require.NoError(t, e.store.PutConsumer(ctx, stores.Consumer{Key: key, Secret: consumerSecret, Mapping: m}))
	}
	status, body := read(t)(e.client(consumerKey, consumerSecret, "admin", false).Get(e.srv.URL + "/api"))
	assert.Equal(t, "oauth1:admin:katello:", body, status)
	status, body = read(t)(e.client("admin-api", consumerSecret, "admin", false).Get(e.srv.URL + "/api"))
	assert.Equal(t, "oauth1:foreman_api_admin:admin-api:", body, status)
	status, body = read(t)(e.client("strict", consumerSecret, "admin", false).Get(e.srv.URL + "/api"))
	assert.Equal(t, 401, status, "strict consumer: an unsigned FOREMAN-USER is not enough")
	assert.Contains(t, problem(t, body), "xoauth_requestor_id")
	status, body = read(t)(e.client("strict", consumerSecret, "admin", true).Get(e.srv.URL + "/api"))
	assert.Equal(t, "oauth1:admin:strict:", body, status)
}

// replay sends a copy of the last signed request, changed by mutate.
func (e *env) replay(t *testing.T, mutate func(r *http.Request, body *string)) (int, string) {
	t.Helper()
	last, body := e.rec.last, string(e.rec.body)
	req := last.Clone(context.Background())
	req.RequestURI = ""
	if mutate != nil {
		mutate(req, &body)
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	return read(t)(e.srv.Client().Do(req))
}

func TestReplayAndTampering(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(consumerKey, consumerSecret, "admin", false)
	send := func() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/hosts?org=1", strings.NewReader("name=web01"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, body := read(t)(c.Do(req))
		require.Equal(t, 200, status, body)
	}
	send()
	status, body := e.replay(t, nil)
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, body), "replayed nonce")

	for name, mutate := range map[string]func(*http.Request, *string){
		"method": func(r *http.Request, _ *string) { r.Method = "PUT" },
		"path":   func(r *http.Request, _ *string) { r.URL.Path = "/api/users" },
		"query":  func(r *http.Request, _ *string) { r.URL.RawQuery = "org=2" },
		"body":   func(_ *http.Request, b *string) { *b = "name=web02" },
		"host":   func(r *http.Request, _ *string) { r.Host = "other.example:443" },
	} {
		send()
		status, body := e.replay(t, mutate)
		assert.Equal(t, 401, status, name)
		assert.Contains(t, problem(t, body), "invalid consumer key or signature", name)
	}

	status, body = read(t)(e.client(consumerKey, "wrong", "admin", false).Get(e.srv.URL + "/api"))
	assert.Equal(t, 401, status)
	wrongSecret := problem(t, body)
	assert.Contains(t, wrongSecret, "invalid consumer key or signature")
	assert.NotContains(t, body, consumerSecret)
	status, body = read(t)(e.client("nobody", "x", "admin", false).Get(e.srv.URL + "/api"))
	assert.Equal(t, 401, status)
	// The same words but the key the client sent itself.
	assert.Equal(t, strings.Replace(wrongSecret, `"`+consumerKey+`"`, `"nobody"`, 1), problem(t, body), "an unknown key and a wrong signature read the same")
	status, _ = read(t)(e.client("off", "off-secret-0123456", "admin", false).Get(e.srv.URL + "/api"))
	assert.Equal(t, 401, status, "disabled consumer")
}

func TestStaleTimestamp(t *testing.T) {
	e := newEnv(t, nil)
	for _, skew := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
		skew := skew
		cfg := dghubble.NewConfig(consumerKey, consumerSecret)
		cfg.Noncer = dghubble.HexNoncer{}
		ctx := context.WithValue(context.Background(), dghubble.HTTPClient, &http.Client{Transport: e.rec})
		c := cfg.Client(ctx, dghubble.NewToken("", ""))
		// dghubble has no clock hook: rewrite the timestamp and re-sign by hand.
		_, _ = read(t)(c.Get(e.srv.URL + "/api"))
		status, body := e.replay(t, func(r *http.Request, _ *string) {
			params, _, _ := oauthsig.ParseHeader(r.Header.Get("Authorization"))
			var kept []oauthsig.Param
			for _, p := range params {
				switch p.Name {
				case "oauth_timestamp":
					p.Value = strconv.FormatInt(e.now.Add(skew).Unix(), 10)
				case "oauth_nonce":
					p.Value += "x"
				case "oauth_signature":
					continue
				}
				kept = append(kept, p)
			}
			base := oauthsig.BaseString(r.Method, oauthsig.BaseURI("https", r.URL.Host, r.URL.EscapedPath()), kept)
			r.Header.Set("Authorization", header(append(kept, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", base, consumerSecret, "")}), true))
			r.Header.Set("FOREMAN-USER", "admin")
		})
		assert.Equal(t, 401, status, skew)
		assert.Contains(t, problem(t, body), "stale timestamp")
	}
}

// header builds an Authorization header, quoted or not.
func header(params []oauthsig.Param, quoted bool) string {
	parts := make([]string, len(params))
	for i, p := range params {
		if quoted {
			parts[i] = p.Name + `="` + oauthsig.Encode(p.Value) + `"`
		} else {
			parts[i] = p.Name + "=" + oauthsig.Encode(p.Value)
		}
	}
	return "OAuth " + strings.Join(parts, ",")
}

// signedHeader signs a request the way a hand-written client would.
func signedHeader(method, rawURL, secret, sigMethod string, extra ...oauthsig.Param) string {
	u, _ := url.Parse(rawURL)
	params := append([]oauthsig.Param{
		{Name: "oauth_version", Value: "1.0"}, {Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: sigMethod},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: rand.Text()},
	}, extra...)
	q, _ := oauthsig.ParseForm(u.RawQuery)
	base := oauthsig.BaseString(method, oauthsig.BaseURI(u.Scheme, u.Host, u.EscapedPath()), append(params, q...))
	return header(append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature(sigMethod, base, secret, "")}), false)
}

func TestCurlSatelliteShape(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	e := newEnv(t, nil)
	target := e.srv.URL + "/api/v2/hosts?per_page=5"
	for _, quoted := range []bool{false, true} {
		h := signedHeader("GET", target, consumerSecret, "HMAC-SHA1")
		if quoted {
			params, _, _ := oauthsig.ParseHeader(h)
			h = header(params, true)
		}
		out, err := exec.Command(curl, "-sk", "-H", "Accept: application/json", "-H", "Authorization: "+h, "-H", "FOREMAN-USER: admin", target).Output()
		require.NoError(t, err)
		assert.Equal(t, "oauth1:admin:katello:", string(out), "quoted=%v", quoted)
	}
}

func TestOtherSignatureMethods(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	e := newEnv(t, nil)
	require.NoError(t, e.store.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret,
		RSAPublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))}))
	do := func(h string) (int, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("FOREMAN-USER", "admin")
		return read(t)(e.srv.Client().Do(req))
	}
	status, body := do(signedHeader("GET", e.srv.URL+"/api", consumerSecret, "HMAC-SHA256"))
	assert.Equal(t, 200, status, body)

	// RSA-SHA1 with the registered public key.
	params := []oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "RSA-SHA1"},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: "rsa-nonce"}}
	u, _ := url.Parse(e.srv.URL + "/api")
	digest := sha1.Sum([]byte(oauthsig.BaseString("GET", oauthsig.BaseURI("https", u.Host, "/api"), params)))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA1, digest[:])
	status, body = do(header(append(params, oauthsig.Param{Name: "oauth_signature", Value: base64.StdEncoding.EncodeToString(sig)}), true))
	assert.Equal(t, 200, status, body)

	// PLAINTEXT over TLS, with a timestamp and a nonce like every method.
	status, body = do(header([]oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "PLAINTEXT"},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: "pt-nonce"},
		{Name: "oauth_signature", Value: oauthsig.Encode(consumerSecret) + "&"}}, true))
	assert.Equal(t, 200, status, body)

	status, body = do(signedHeader("GET", e.srv.URL+"/api", consumerSecret, "HMAC-MD5"))
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, body), "unsupported signature method")
	status, body = do(signedHeader("GET", e.srv.URL+"/api", consumerSecret, "HMAC-SHA1", oauthsig.Param{Name: "oauth_token", Value: "abc"}))
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, body), "tokens are not supported")
	status, _ = do(signedHeader("GET", e.srv.URL+"/api", consumerSecret, "HMAC-SHA1") + `,oauth_nonce="dup"`)
	assert.Equal(t, 400, status, "duplicated protocol parameter")
	status, body = do(strings.Replace(signedHeader("GET", e.srv.URL+"/api", consumerSecret, "HMAC-SHA1"), "oauth_version=1.0", "oauth_version=2.0", 1))
	assert.Equal(t, 400, status, body)
}

func TestPlaintextRefusedWithoutTLS(t *testing.T) {
	st := memstore.New()
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret}))
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Mapping: stores.ConsumerMapNone})
	req := httptest.NewRequest("GET", "http://api.example/api", nil)
	req.Header.Set("Authorization", header([]oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "PLAINTEXT"},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: "n"}, {Name: "oauth_signature", Value: oauthsig.Encode(consumerSecret) + "&"}}, true))
	_, err := a.Authenticate(req)
	require.Error(t, err)
	assert.Contains(t, auth.AsError(err).Text(), "only over TLS")
}

func TestBehindTLSProxy(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin"})
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret}))
	// The client signed https://satellite.example/api; the proxy forwards
	// plain HTTP to the backend at 10.0.0.5:3000.
	h := signedHeader("GET", "https://satellite.example/api", consumerSecret, "HMAC-SHA1")
	mk := func() *http.Request {
		req := httptest.NewRequest("GET", "http://10.0.0.5:3000/api", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("FOREMAN-USER", "admin")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "satellite.example")
		return req
	}
	_, err := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st}).Authenticate(mk())
	assert.Contains(t, auth.AsError(err).Text(), "invalid consumer key or signature", "forwarded headers are ignored unless trusted")
	res, err := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st, Env: auth.Env{TrustForwarded: true}}).Authenticate(mk())
	require.NoError(t, err)
	assert.Equal(t, "admin", res.Identity.User)
}

func TestBodyHash(t *testing.T) {
	e := newEnv(t, func(c *oauth1.Config) { c.BodyHash = oauth1.BodyHashRequire })
	body := `{"host":{"name":"web01"}}`
	do := func(extra ...oauthsig.Param) (int, string) {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/api/hosts/1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", signedHeader("PUT", e.srv.URL+"/api/hosts/1", consumerSecret, "HMAC-SHA1", extra...))
		req.Header.Set("FOREMAN-USER", "admin")
		return read(t)(e.srv.Client().Do(req))
	}
	status, resp := do()
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, resp), "oauth_body_hash is required")
	sum := sha1.Sum([]byte(body))
	status, resp = do(oauthsig.Param{Name: "oauth_body_hash", Value: base64.StdEncoding.EncodeToString(sum[:])})
	assert.Equal(t, 200, status, resp)
	other := sha1.Sum([]byte(`{"host":{"name":"evil"}}`))
	status, resp = do(oauthsig.Param{Name: "oauth_body_hash", Value: base64.StdEncoding.EncodeToString(other[:])})
	assert.Equal(t, 401, status)
	assert.Contains(t, problem(t, resp), "does not match the body")
}

func TestNoCredentialsFallsThrough(t *testing.T) {
	st := memstore.New()
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st})
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/api?x=1", nil),
		httptest.NewRequest("POST", "/api", strings.NewReader("a=1")),
	} {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, err := a.Authenticate(r)
		assert.ErrorIs(t, err, auth.ErrNoCredentials)
	}
}
