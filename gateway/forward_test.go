package gateway_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// forwardAuth serves ForwardAuth over the fixture's faces on plain HTTP,
// as a proxy on the same host asks it.
func forwardAuth(t testing.TB, trusted []netip.Prefix) (*authtest.Fixture, *httptest.Server) {
	return forwardAuthDialect(t, trusted, gateway.DialectAuto, "X-Client-Cert")
}

// forwardAuthDialect is forwardAuth for one dialect, with the client
// certificate in certHeader. The faces also serve gatehouse's anonymous
// /ca.crt, as the reference server does.
func forwardAuthDialect(t testing.TB, trusted []netip.Prefix, d gateway.Dialect, certHeader string) (*authtest.Fixture, *httptest.Server) {
	f := authtest.New(t)
	allow := gateway.Allow(gateway.Headers{}, signKey, nil)
	faces := http.NewServeMux()
	faces.Handle("GET /ca.crt", f.Presets.CA())
	faces.Handle(preset.XCATPrefix, f.Presets.XCAT(allow))
	faces.Handle(preset.SatellitePrefix, f.Presets.Satellite(allow))
	faces.Handle(preset.OVirtPrefix, f.Presets.OVirt(allow))
	faces.Handle(preset.FlockerPrefix, f.Presets.Flocker(allow))
	h := gateway.ForwardAuth(gateway.ForwardAuthConfig{Dialect: d, Proxies: gateway.Proxies{Trusted: trusted,
		ClientCertHeader: certHeader, Roots: f.CA.Pool()}}, faces)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return f, srv
}

// oauth1Header signs method+rawURL as Satellite's clients do and returns
// the Authorization header, without sending anything.
func oauth1Header(t *testing.T, method, rawURL string) string {
	var got string
	c := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: authtest.ConsumerKey,
		ConsumerSecret: authtest.ConsumerSecret, User: authtest.SatelliteUser,
		Base: roundTripper(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Get("Authorization")
			return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
		})})
	req, _ := http.NewRequest(method, rawURL, nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return got
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func basicAuth(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header.Get("Authorization")
}

// proxyRequest is a recorded request of one proxy type: the path it asks,
// its method and the headers it sets for a client's original request.
type proxyRequest struct {
	method, path string
	header       map[string]string
}

// nginx: auth_request with X-Original-URI/-Method, Host and X-Forwarded-*
// set by the snippet in docs/.
func nginxAsks(method, uri, host string) proxyRequest {
	return proxyRequest{"GET", "/auth/verify", map[string]string{"X-Original-Method": method, "X-Original-URI": uri,
		"X-Forwarded-Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}}
}

// Traefik's ForwardAuth middleware: always GET to the address, the
// original in X-Forwarded-Method/-Uri/-Host/-Proto/-For.
func traefikAsks(method, uri, host string) proxyRequest {
	return proxyRequest{"GET", "/auth/verify", map[string]string{"X-Forwarded-Method": method, "X-Forwarded-Uri": uri,
		"X-Forwarded-Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}}
}

// Envoy's HTTP ext_authz: the original method, path_prefix + the
// original path, the original :authority as Host, x-forwarded-proto from
// the connection manager.
func envoyAsks(method, uri, host string) proxyRequest {
	return proxyRequest{method, "/auth/verify" + uri, map[string]string{"Host": host, "X-Forwarded-Proto": "https",
		"X-Forwarded-For": "203.0.113.7", "X-Request-Id": "0f4d6c1e-8a1b-4c6e-9d2f-3e5a7b9c1d2f", "X-Envoy-Expected-Rq-Timeout-Ms": "200"}}
}

func (p proxyRequest) send(t *testing.T, srv *httptest.Server, credential map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(p.method, srv.URL+p.path, nil)
	for k, v := range p.header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	for k, v := range credential {
		req.Header.Set(k, v)
	}
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestForwardAuthProxies: the three proxies' header contracts give the
// same answers as gatehouse directly: identity headers on 200, challenges
// on 401, 403 for an authenticated request the policy refuses, and OAuth 1
// checked against the original URL.
func TestForwardAuthProxies(t *testing.T) {
	f, srv := forwardAuth(t, loopback)
	const host = "api.example.com"
	orig := "https://" + host + "/api/architectures?page=2"
	verifier := gateway.Verifier{Key: signKey}
	for name, asks := range map[string]func(method, uri, host string) proxyRequest{"nginx": nginxAsks, "traefik": traefikAsks, "envoy": envoyAsks} {
		t.Run(name, func(t *testing.T) {
			signed := oauth1Header(t, "GET", orig) // a nonce is good once
			signedForVerify := oauth1Header(t, "GET", srv.URL+"/auth/verify")
			for _, tc := range []struct {
				what       string
				method     string
				uri        string
				credential map[string]string
				status     int
				user       string
			}{
				{"basic", "GET", "/xcatws/nodes", map[string]string{"Authorization": basicAuth(authtest.XCATUser, authtest.XCATPassword)}, 200, authtest.XCATUser},
				{"basic wrong", "GET", "/xcatws/nodes", map[string]string{"Authorization": basicAuth(authtest.XCATUser, "nope")}, 401, ""},
				{"none", "GET", "/api/status", nil, 401, ""},
				{"pat", "POST", "/api/hosts", map[string]string{"Authorization": basicAuth(authtest.SatelliteUser, f.PAT)}, 200, authtest.SatelliteUser},
				{"oauth1 original URL", "GET", "/api/architectures?page=2", map[string]string{"Authorization": signed, "FOREMAN-USER": authtest.SatelliteUser}, 200, authtest.SatelliteUser},
				{"oauth1 other path", "GET", "/api/architectures?page=3", map[string]string{"Authorization": signed, "FOREMAN-USER": authtest.SatelliteUser}, 401, ""},
				{"oauth1 signed for /auth/verify", "GET", "/api/architectures?page=2", map[string]string{"Authorization": signedForVerify, "FOREMAN-USER": authtest.SatelliteUser}, 401, ""},
				{"dot segments", "GET", "/xcatws/../api/status", map[string]string{"Authorization": basicAuth(authtest.XCATUser, authtest.XCATPassword)}, 400, ""},
			} {
				if name == "envoy" && tc.what == "dot segments" {
					continue // Envoy normalizes the path before it asks
				}
				res := asks(tc.method, tc.uri, host).send(t, srv, tc.credential)
				if res.StatusCode != tc.status {
					t.Errorf("%s: %d, want %d (%v)", tc.what, res.StatusCode, tc.status, res.Header)
					continue
				}
				if tc.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without a challenge", tc.what)
				}
				if tc.status != 200 {
					if res.Header.Get("X-Gatehouse-User") != "" {
						t.Errorf("%s: refused with an identity header", tc.what)
					}
					continue
				}
				if got := res.Header.Get("X-Gatehouse-User"); got != tc.user {
					t.Errorf("%s: X-Gatehouse-User %q, want %q", tc.what, got, tc.user)
				}
				// The signature binds the original method and path, as the
				// upstream behind the proxy will see them.
				up := httptest.NewRequest(tc.method, tc.uri, nil)
				for _, h := range []string{"X-Gatehouse-User", "X-Gatehouse-Groups", "X-Gatehouse-Scheme", "X-Gatehouse-Signature"} {
					up.Header.Set(h, res.Header.Get(h))
				}
				if _, err := verifier.Verify(up); err != nil {
					t.Errorf("%s: %v", tc.what, err)
				}
			}
		})
	}
}

// TestForwardAuthUntrusted: a proxy outside the trusted networks gets 403,
// whatever it says.
func TestForwardAuthUntrusted(t *testing.T) {
	_, srv := forwardAuth(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	res := nginxAsks("GET", "/xcatws/nodes", "h").send(t, srv, map[string]string{"Authorization": basicAuth(authtest.XCATUser, authtest.XCATPassword)})
	if res.StatusCode != 403 {
		t.Errorf("untrusted proxy: %d, want 403", res.StatusCode)
	}
}

// TestForwardAuthClientCert: a certificate a trusted proxy verified and
// passed in the header proves the Flocker user; one from another CA, one
// revoked or a header over plain HTTP does not.
func TestForwardAuthClientCert(t *testing.T) {
	f, srv := forwardAuth(t, loopback)
	good, err := f.CA.IssueClient(authtest.CertUser, mtls.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "other"})
	foreign, _ := other.IssueClient(authtest.CertUser, mtls.LeafOptions{})
	escaped := func(c *x509.Certificate) string {
		return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	asks := nginxAsks("GET", "/v1/configuration/containers", "h")
	if res := asks.send(t, srv, map[string]string{"X-Client-Cert": escaped(good.Cert)}); res.StatusCode != 200 || res.Header.Get("X-Gatehouse-User") != authtest.CertUser {
		t.Errorf("verified certificate: %d %q", res.StatusCode, res.Header.Get("X-Gatehouse-User"))
	}
	if res := asks.send(t, srv, map[string]string{"X-Client-Cert": escaped(foreign.Cert)}); res.StatusCode != 401 {
		t.Errorf("certificate from another CA: %d, want 401", res.StatusCode)
	}
	if res := asks.send(t, srv, map[string]string{"X-Client-Cert": "garbage%ZZ"}); res.StatusCode != 401 {
		t.Errorf("garbage certificate header: %d, want 401", res.StatusCode)
	}
	plain := nginxAsks("GET", "/v1/configuration/containers", "h")
	plain.header["X-Forwarded-Proto"] = "http"
	if res := plain.send(t, srv, map[string]string{"X-Client-Cert": escaped(good.Cert)}); res.StatusCode == 200 {
		t.Errorf("certificate on a plain-HTTP original: %d", res.StatusCode)
	}
	if err := f.Store.RevokeCert(context.Background(), good.Cert.SerialNumber.Text(16)); err != nil {
		t.Fatal(err)
	}
	if res := asks.send(t, srv, map[string]string{"X-Client-Cert": escaped(good.Cert)}); res.StatusCode != 401 {
		t.Errorf("revoked certificate: %d, want 401", res.StatusCode)
	}
}

// TestProxiesIgnoreUntrustedCertHeader: in gateway mode, a client that
// reaches gatehouse directly cannot pass a certificate in the header.
func TestProxiesIgnoreUntrustedCertHeader(t *testing.T) {
	f := authtest.New(t)
	good, _ := f.CA.IssueClient(authtest.CertUser, mtls.LeafOptions{})
	p := gateway.Proxies{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ClientCertHeader: "X-Client-Cert", Roots: f.CA.Pool()}
	srv := f.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	front := httptest.NewUnstartedServer(p.Handler(srv.Config.Handler))
	front.TLS = srv.TLS
	front.StartTLS()
	defer front.Close()
	req, _ := http.NewRequest("GET", front.URL+"/v1/configuration/containers", nil)
	req.Header.Set("X-Client-Cert", url.PathEscape(string(good.CertPEM())))
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("certificate header from an untrusted client: %d, want 401", res.StatusCode)
	}
}

// FuzzForwardAuth: whatever a trusted proxy sends as the original method,
// URI, forwarding and certificate headers, the answer is 200, 400, 401,
// 403 or 404 — never a panic or a 5xx, never a redirect.
func FuzzForwardAuth(f *testing.F) {
	f.Add("GET", "/xcatws/nodes", "https", "h:443", "203.0.113.7, 10.0.0.1", "", "")
	f.Add("P O", "//x/../y", "wss", "", "::1,garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "Basic Zm9vOmJhcg==")
	f.Add("", "http://evil/", "http", "a,b", "", "%ZZ", "OAuth oauth_consumer_key=\"katello\"")
	f.Add("DELETE", "/api/status?userPW=x&oauth_nonce=1", "HTTPS", "[::1]:8443", "1.2.3.4", "", "Bearer x")
	_, srv := forwardAuth(f, loopback)
	h := srv.Config.Handler
	f.Fuzz(func(t *testing.T, method, uri, proto, host, xff, cert, authz string) {
		r := httptest.NewRequest("GET", "/auth/verify", nil)
		r.RemoteAddr = "127.0.0.1:5555"
		for k, v := range map[string]string{"X-Original-Method": method, "X-Original-URI": uri, "X-Forwarded-Proto": proto,
			"X-Forwarded-Host": host, "X-Forwarded-For": xff, "X-Client-Cert": cert, "Authorization": authz} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		switch rec.Code {
		case 200, 400, 401, 403, 404: // 404: a path outside the faces
		default:
			t.Fatalf("%d for method %q uri %q proto %q host %q xff %q cert %q authz %q", rec.Code, method, uri, proto, host, xff, cert, authz)
		}
	})
}
