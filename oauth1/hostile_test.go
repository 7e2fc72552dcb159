package oauth1_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse/gatehouse/internal/oauthsig"
	"github.com/gatehouse/gatehouse/oauth1"
)

// signedWith signs GET rawURL as consumer key with secret and nonce.
func signedWith(rawURL, key, secret, nonce string) string {
	u, _ := url.Parse(rawURL)
	params := []oauthsig.Param{
		{Name: "oauth_version", Value: "1.0"}, {Name: "oauth_consumer_key", Value: key}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
		{Name: "oauth_timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)}, {Name: "oauth_nonce", Value: nonce},
	}
	q, _ := oauthsig.ParseForm(u.RawQuery)
	base := oauthsig.BaseString("GET", oauthsig.BaseURI(u.Scheme, u.Host, u.EscapedPath()), append(params, q...))
	return header(append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", base, secret, "")}), false)
}

// get serves the request in process: Go's client refuses to send a NUL in
// a header, which a raw connection carries.
func (e *env) get(t *testing.T, authz string, userHeaders ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", e.srv.URL+"/api/hosts", nil)
	req.Header.Set("Authorization", authz)
	for i := 0; i+1 < len(userHeaders); i += 2 {
		k := http.CanonicalHeaderKey(userHeaders[i]) // as the server reads it off the wire
		req.Header[k] = append(req.Header[k], userHeaders[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// Attack (failed before the fix on PostgreSQL: 503, which PostgreSQL's
// refusal of the parameter became): a consumer key with NUL, invalid
// UTF-8 or a cut multi-byte character is an invalid credential (401) on
// every store, never a store failure; the same bytes in FOREMAN-USER of a
// validly signed request are a malformed request (400).
func TestHostileConsumerKeyAndUser(t *testing.T) {
	e := newEnv(t, nil)
	for _, bad := range []string{"adm\x00in", "adm\xffin", "admin\xc3", "katello\x00"} {
		code, body := e.get(t, signedWith(e.srv.URL+"/api/hosts", bad, consumerSecret, rand.Text()), "FOREMAN-USER", "admin")
		assert.Equal(t, 401, code, "consumer key %q: %s", bad, body)
		code, body = e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, rand.Text()), "FOREMAN-USER", bad)
		assert.Equal(t, 400, code, "FOREMAN-USER %q: %s", bad, body)
		code, body = e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, bad+rand.Text()), "FOREMAN-USER", "admin")
		assert.Equal(t, 401, code, "nonce %q: %s", bad, body)
	}
	code, body := e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, rand.Text()), "FOREMAN-USER", "admin")
	assert.Equal(t, 200, code, body)
}

// Attack (failed before the fix: 200, and the nonce kept for ten minutes):
// a validly signed request with a 512 KB nonce. Every protocol parameter
// is capped at 256, far above what real clients send.
func TestLongNonceRefused(t *testing.T) {
	var stored int
	e := newEnv(t, func(c *oauth1.Config) {
		c.Nonces = countingNonces{c.Nonces, &stored}
	})
	code, body := e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, strings.Repeat("n", 512<<10)), "FOREMAN-USER", "admin")
	assert.Equal(t, 400, code, body)
	code, body = e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, strings.Repeat("n", oauth1.MaxParamBytes+1)), "FOREMAN-USER", "admin")
	assert.Equal(t, 400, code, body)
	assert.Zero(t, stored, "a refused nonce is never stored")
	code, body = e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, strings.Repeat("n", 64)+rand.Text()), "FOREMAN-USER", "admin")
	assert.Equal(t, 200, code, body)
	assert.Equal(t, 1, stored)
}

// Attack (failed before the fix: 200 as eve): two FOREMAN-USER headers,
// the client's and one a proxy appended. Refused with 400 in either
// spelling, and so is a list in one header.
func TestDuplicateForemanUser(t *testing.T) {
	e := newEnv(t, nil)
	for _, headers := range [][]string{
		{"FOREMAN-USER", "Jsmith", "FOREMAN-USER", "admin"},
		{"Foreman_User", "Jsmith", "Foreman_User", "admin"},
		{"FOREMAN-USER", "Jsmith, admin"},
	} {
		code, body := e.get(t, signedWith(e.srv.URL+"/api/hosts", consumerKey, consumerSecret, rand.Text()), headers...)
		assert.Equal(t, 400, code, "%q: %s", headers, body)
	}
}

// countingNonces counts the nonces that reach the store.
type countingNonces struct {
	next interface {
		UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (bool, error)
	}
	n *int
}

func (c countingNonces) UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	*c.n++
	return c.next.UseNonce(ctx, consumer, nonce, expires)
}
