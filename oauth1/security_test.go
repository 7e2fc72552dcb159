package oauth1_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/internal/oauthsig"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func rsaPEM(t testing.TB) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Attack: a consumer registered only with an RSA public key has no secret,
// so an HMAC made with the empty key, or PLAINTEXT "&", used to pass. Anyone
// knowing the consumer key acted as any user.
func TestRSAOnlyConsumerRefusesSecretMethods(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin"})
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, RSAPublicKeyPEM: rsaPEM(t)}))
	srv := httptest.NewTLSServer(auth.Middleware(oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st}), auth.Config{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret data") })))
	defer srv.Close()
	do := func(h string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("FOREMAN-USER", "admin")
		return read(t)(srv.Client().Do(req))
	}
	for _, m := range []string{"HMAC-SHA1", "HMAC-SHA256"} {
		status, body := do(signedHeader("GET", srv.URL+"/api", "", m))
		assert.Equal(t, 401, status, m)
		assert.NotContains(t, body, "secret data")
	}
	status, body := do(header([]oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "PLAINTEXT"},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: "forged"}, {Name: "oauth_signature", Value: "&"}}, true))
	assert.Equal(t, 401, status, "PLAINTEXT with the empty secret")
	assert.NotContains(t, body, "secret data")

	// Methods narrows a consumer further: HMAC-SHA256 only.
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret, Methods: []string{"HMAC-SHA256"}}))
	status, _ = do(signedHeader("GET", srv.URL+"/api", consumerSecret, "HMAC-SHA1"))
	assert.Equal(t, 401, status, "a method the consumer is not registered for")
	status, _ = do(signedHeader("GET", srv.URL+"/api", consumerSecret, "HMAC-SHA256"))
	assert.Equal(t, 200, status)
}

// Attack: PLAINTEXT without timestamp and nonce could be replayed forever.
func TestPlaintextNeedsTimestampAndNonce(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin"})
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret}))
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st})
	h := header([]oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "PLAINTEXT"}, {Name: "oauth_signature", Value: oauthsig.Encode(consumerSecret) + "&"}}, true)
	for i := range 2 {
		req := httptest.NewRequest("GET", "https://api.example/api", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("FOREMAN-USER", "admin")
		_, err := a.Authenticate(req)
		require.Error(t, err, "attempt %d", i)
		assert.Equal(t, auth.ReasonMalformed, auth.AsError(err).Reason)
	}
}

// Attack: OAuth 1 first in a chain read every form body; a Basic-authenticated
// form POST with "comment=100%" or a body over 1 MiB got 400 from OAuth 1,
// and the handler could not read the body.
func TestFormBodyOfAnotherScheme(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin", Password: "pw"})
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret}))
	chain := auth.Chain(oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st}), basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: st})}))
	srv := httptest.NewTLSServer(auth.Middleware(chain, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, strconv.Itoa(len(b))+":"+string(b[:min(len(b), 20)]))
	})))
	defer srv.Close()
	big := "comment=" + strings.Repeat("x", 2<<20)
	for _, body := range []string{"comment=100%", "comment=fine&x=1", big} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/hosts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("admin", "pw")
		status, got := read(t)(srv.Client().Do(req))
		assert.Equal(t, 200, status, got)
		assert.Equal(t, strconv.Itoa(len(body))+":"+body[:min(len(body), 20)], got, "the handler reads the whole body")
	}
}

// Attack: OAuth 1 parameters in a form body were accepted over plain HTTP.
func TestFormBodyCredentialsRefusedOverHTTP(t *testing.T) {
	st := authtest.Users(authtest.User{Login: "admin"})
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret}))
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st})
	srv := httptest.NewServer(auth.Middleware(a, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/api")
	params := []oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: "formnonce"}, {Name: "oauth_version", Value: "1.0"}}
	base := oauthsig.BaseString("POST", oauthsig.BaseURI("http", u.Host, "/api"), params)
	params = append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", base, consumerSecret, "")})
	form := url.Values{}
	for _, p := range params {
		form.Set(p.Name, p.Value)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("FOREMAN-USER", "admin")
	status, body := read(t)(http.DefaultClient.Do(req))
	assert.Equal(t, 403, status, body)
	assert.Contains(t, body, "HTTPS")
}

// Attack: "unknown consumer key" vs "invalid signature" told which keys
// exist, and an RSA-SHA1 check cost three times more for a known key. Now
// one message, and the refusal of an unknown key does an RSA verification
// too (measured in allocations, which are deterministic, not in time).
func TestConsumerEnumeration(t *testing.T) {
	st := memstore.New()
	require.NoError(t, st.PutConsumer(context.Background(), stores.Consumer{Key: "known", RSAPublicKeyPEM: rsaPEM(t)}))
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Mapping: stores.ConsumerMapNone})
	sig := strings.Repeat("A", 342) + "=="
	mk := func(key string) *http.Request {
		req := httptest.NewRequest("GET", "https://api.example/api", nil)
		req.Header.Set("Authorization", header([]oauthsig.Param{{Name: "oauth_consumer_key", Value: key}, {Name: "oauth_signature_method", Value: "RSA-SHA1"},
			{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: rand.Text()}, {Name: "oauth_signature", Value: sig}}, true))
		return req
	}
	_, errKnown := a.Authenticate(mk("known"))
	_, errUnknown := a.Authenticate(mk("unknown"))
	require.Error(t, errKnown)
	require.Error(t, errUnknown)
	// The same words but the key the client sent itself.
	assert.Equal(t, strings.Replace(auth.AsError(errKnown).Text(), `"known"`, `"unknown"`, 1), auth.AsError(errUnknown).Text())
	known := testing.AllocsPerRun(20, func() { _, _ = a.Authenticate(mk("known")) })
	unknown := testing.AllocsPerRun(20, func() { _, _ = a.Authenticate(mk("unknown")) })
	assert.InDelta(t, known, unknown, known*0.2, "known %.0f allocs, unknown %.0f: the same work", known, unknown)
}
