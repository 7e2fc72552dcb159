package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/mtls"
)

// TestDemoServer drives every face of the demo with the requests its banner
// prints.
func TestDemoServer(t *testing.T) {
	store, err := demoStore()
	require.NoError(t, err)
	ca, dir, err := demoCA()
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	handler, pat := newHandler(store, slog.New(slog.NewTextHandler(io.Discard, nil)), ca)
	srv := httptest.NewUnstartedServer(handler)
	server, err := ca.IssueServer("control-service", []string{"127.0.0.1"}, mtls.LeafOptions{})
	require.NoError(t, err)
	srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), tls.VerifyClientCertIfGiven)
	srv.StartTLS()
	defer srv.Close()
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}

	do := func(c *http.Client, method, path, user, pw, body string, hdr ...string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := do(anon, "GET", "/xcatws/nodes?userName=wsuser&userPW=cluster-secret", "", "", "")
	assert.Equal(t, 200, status, body)
	assert.Contains(t, body, `"scheme":"query"`)
	status, body = do(anon, "GET", "/api/status", "admin", pat, "")
	assert.Equal(t, 200, status, body)
	assert.Contains(t, body, `"scheme":"pat"`)
	status, body = do(anon, "GET", "/ovirt-engine/api", "admin@internal", "ovirt-pw", "")
	assert.Equal(t, 200, status, body)
	status, body = do(anon, "POST", "/ovirt-engine/sso/oauth/token", "", "",
		"grant_type=password&scope=ovirt-app-api&username="+url.QueryEscape("admin@internal")+"&password=ovirt-pw",
		"Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, 200, status, body)
	status, _ = do(anon, "GET", "/api/status", "admin", "wrong", "")
	assert.Equal(t, 401, status)
	// requests-oauthlib's OAuth2Session drops the scope: the default applies.
	status, body = do(anon, "POST", "/ovirt-engine/sso/oauth/token", "", "",
		"grant_type=password&username="+url.QueryEscape("admin@internal")+"&password=ovirt-pw",
		"Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, 200, status, body)
	assert.Contains(t, body, `"scope":"ovirt-app-api"`)
	// Errors in oVirt's shape, for both generations of its SDK.
	status, body = do(anon, "POST", "/ovirt-engine/sso/oauth/token", "", "",
		"grant_type=password&scope=other&username="+url.QueryEscape("admin@internal")+"&password=ovirt-pw",
		"Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, 400, status, body)
	assert.Contains(t, body, `"error_code":"invalid_scope"`)
	assert.Contains(t, body, `ask for ovirt-app-api`)
	status, body = do(anon, "GET", "/ca.crt", "", "", "")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, "BEGIN CERTIFICATE")

	user, err := mtls.NewHTTPClient(dir, "user")
	require.NoError(t, err)
	user.Transport.(*http.Transport).TLSClientConfig.ServerName = "127.0.0.1"
	status, body = do(user, "GET", "/v1/state/nodes", "", "", "")
	assert.Equal(t, 200, status, body)
	assert.Contains(t, body, `"user":"alice","domain":"","scheme":"mtls"`)
}
