package gateway_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/mtls"
)

// denyAdmin puts a deny on /api/admin/** and on DELETE anywhere before
// the fixture's allow-all rule.
func denyAdmin(t *testing.T, f *authtest.Fixture) {
	t.Helper()
	if err := f.Store.SetRules(context.Background(), []auth.Rule{
		{Priority: 1, Subject: "*", Path: "/api/admin/**", Verdict: auth.Deny},
		{Priority: 2, Subject: "*", Methods: []string{"DELETE"}, Verdict: auth.Deny},
		{Priority: 3, Subject: "*", Verdict: auth.Allow},
	}); err != nil {
		t.Fatal(err)
	}
}

// Attack (failed before the fix: 200): behind Traefik, which passes its
// client's headers on to forward-auth, a client adds nginx's
// X-Original-URI/-Method and is authorized for that request while Traefik
// sends the real one (DELETE /api/admin/1) upstream. Neither the Traefik
// endpoint nor the auto one may believe it; an xCAT token (no oVirt scope)
// cannot borrow the xCAT face for an oVirt path either.
func TestForwardAuthClientCannotChooseWhatIsAuthorized(t *testing.T) {
	for name, d := range map[string]gateway.Dialect{"auto": gateway.DialectAuto, "traefik": gateway.DialectTraefik} {
		t.Run(name, func(t *testing.T) {
			f, srv := forwardAuthDialect(t, loopback, d, "X-Client-Cert")
			denyAdmin(t, f)
			pat := map[string]string{"Authorization": basicAuth(authtest.SatelliteUser, f.PAT)}
			// The honest requests: the deny rules hold.
			if res := traefikAsks("DELETE", "/api/admin/1", "h").send(t, srv, pat); res.StatusCode != 403 {
				t.Fatalf("DELETE /api/admin/1 through Traefik: %d, want 403", res.StatusCode)
			}
			if res := traefikAsks("GET", "/api/status", "h").send(t, srv, pat); res.StatusCode != 200 {
				t.Fatalf("GET /api/status through Traefik: %d, want 200", res.StatusCode)
			}
			spoof := func(method, uri string, cred map[string]string) int {
				asks := traefikAsks(method, uri, "h")
				asks.header["X-Original-URI"] = "/api/status"
				asks.header["X-Original-Method"] = "GET"
				return asks.send(t, srv, cred).StatusCode
			}
			if got := spoof("DELETE", "/api/admin/1", pat); got == 200 {
				t.Errorf("client-written X-Original-URI widened a path and method deny: %d", got)
			}
			if got := spoof("GET", "/api/admin/1", pat); got == 200 {
				t.Errorf("client-written X-Original-URI widened a path deny: %d", got)
			}
			issued, err := f.Presets.Tokens().IssueAccess(context.Background(), &auth.Identity{User: authtest.XCATUser}, nil)
			if err != nil {
				t.Fatal(err)
			}
			xcat := map[string]string{"X-Auth-Token": issued.Secret}
			if res := traefikAsks("GET", "/ovirt-engine/api/vms", "h").send(t, srv, xcat); res.StatusCode == 200 {
				t.Fatalf("an xCAT token on the oVirt API: %d", res.StatusCode)
			}
			asks := traefikAsks("GET", "/ovirt-engine/api/vms", "h")
			asks.header["X-Original-URI"] = "/xcatws/nodes"
			if got := asks.send(t, srv, xcat).StatusCode; got == 200 {
				t.Errorf("a scope-less xCAT token on the oVirt API with a client-written X-Original-URI: %d", got)
			}
		})
	}
}

// Each dialect reads only its own description: nginx's endpoint refuses
// Traefik's headers (nginx passes a client's on too) and an Envoy path;
// Envoy's refuses both header families.
func TestForwardAuthDialectsReadOnlyTheirOwn(t *testing.T) {
	cred := func(f *authtest.Fixture) map[string]string {
		return map[string]string{"Authorization": basicAuth(authtest.SatelliteUser, f.PAT)}
	}
	t.Run("nginx", func(t *testing.T) {
		f, srv := forwardAuthDialect(t, loopback, gateway.DialectNginx, "X-Client-Cert")
		if res := nginxAsks("GET", "/api/status", "h").send(t, srv, cred(f)); res.StatusCode != 200 {
			t.Fatalf("nginx's own request: %d", res.StatusCode)
		}
		asks := nginxAsks("GET", "/api/status", "h")
		asks.header["X-Forwarded-Uri"] = "/api/hosts"
		if res := asks.send(t, srv, cred(f)); res.StatusCode != 400 {
			t.Errorf("nginx endpoint with a Traefik header: %d, want 400", res.StatusCode)
		}
		if res := traefikAsks("GET", "/api/status", "h").send(t, srv, cred(f)); res.StatusCode == 200 {
			t.Errorf("nginx endpoint believed Traefik's headers: %d", res.StatusCode)
		}
	})
	t.Run("envoy", func(t *testing.T) {
		f, srv := forwardAuthDialect(t, loopback, gateway.DialectEnvoy, "X-Client-Cert")
		denyAdmin(t, f)
		if res := envoyAsks("GET", "/api/status", "h").send(t, srv, cred(f)); res.StatusCode != 200 {
			t.Fatalf("Envoy's own request: %d", res.StatusCode)
		}
		for _, h := range []string{"X-Original-URI", "X-Forwarded-Uri", "X-Original-Method", "X-Forwarded-Method"} {
			asks := envoyAsks("DELETE", "/api/admin/1", "h")
			asks.header[h] = "/api/status"
			if strings.HasSuffix(h, "Method") {
				asks.header[h] = "GET"
			}
			if res := asks.send(t, srv, cred(f)); res.StatusCode != 400 {
				t.Errorf("Envoy endpoint with %s: %d, want 400", h, res.StatusCode)
			}
		}
	})
}

// Attack (failed before the fix: 200): with a deny on /api/admin/**, the
// rules saw /api/admin%2f1 as one segment and an upstream that decodes %2F
// acted on /api/admin/1. Through forward-auth it is now 400, in every
// dialect, and so are %5C and %00.
func TestForwardAuthEncodedSlash(t *testing.T) {
	f, srv := forwardAuth(t, loopback)
	denyAdmin(t, f)
	pat := map[string]string{"Authorization": basicAuth(authtest.SatelliteUser, f.PAT)}
	for name, asks := range map[string]func(method, uri, host string) proxyRequest{"nginx": nginxAsks, "traefik": traefikAsks, "envoy": envoyAsks} {
		for _, p := range []string{"/api/admin%2f1", "/api/admin%2F1", "/api/admin%5c1", "/api/admin%001", "/api/admin;x=1/1", "/api/public/..;/admin/1"} {
			if res := asks("GET", p, "h").send(t, srv, pat); res.StatusCode != 400 {
				t.Errorf("%s %s: %d, want 400", name, p, res.StatusCode)
			}
		}
	}
}

// Attack (failed before the fix: 200): gatehouse's own anonymous endpoints
// answered forward-auth with 200, so a proxy admitted whatever the
// upstream has at /ca.crt. Only Allow admits; the rest is 403.
func TestForwardAuthOwnEndpointsAdmitNothing(t *testing.T) {
	_, srv := forwardAuth(t, loopback)
	for name, asks := range map[string]func(method, uri, host string) proxyRequest{"nginx": nginxAsks, "traefik": traefikAsks, "envoy": envoyAsks} {
		res := asks("GET", "/ca.crt", "h").send(t, srv, nil)
		if res.StatusCode != 403 {
			t.Errorf("%s /ca.crt: %d, want 403", name, res.StatusCode)
		}
		if res.Header.Get("X-Gatehouse-User") != "" {
			t.Errorf("%s /ca.crt: an identity header", name)
		}
	}
}

// Client certificates in every format proxies send them, each verified
// against the cluster CA: HAProxy's base64 DER, Traefik's escaped base64
// chain, Envoy's XFCC, nginx's escaped PEM. A certificate of another CA in
// each format fails; from an untrusted address the header is not read.
func TestForwardAuthClientCertFormats(t *testing.T) {
	formats := map[string]struct {
		header string
		encode func(c *x509.Certificate) string
	}{
		"nginx PEM":    {"X-Client-Cert", func(c *x509.Certificate) string { return url.PathEscape(pemOf(c)) }},
		"raw PEM":      {"X-Client-Cert", func(c *x509.Certificate) string { return strings.ReplaceAll(pemOf(c), "\n", " ") }},
		"HAProxy DER":  {"X-Client-Cert", func(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }},
		"Traefik":      {"X-Forwarded-Tls-Client-Cert", traefikCert},
		"Envoy XFCC":   {"X-Forwarded-Client-Cert", envoyXFCC},
		"Envoy chain":  {"X-Forwarded-Client-Cert", func(c *x509.Certificate) string { return "By=spiffe://a;Hash=x," + envoyXFCC(c) }},
		"URL base64":   {"X-Client-Cert", func(c *x509.Certificate) string { return base64.RawURLEncoding.EncodeToString(c.Raw) }},
		"Traefik list": {"X-Forwarded-Tls-Client-Cert", func(c *x509.Certificate) string { return traefikCert(c) + "," + traefikCert(c) }},
	}
	for name, format := range formats {
		t.Run(name, func(t *testing.T) {
			f, srv := forwardAuthDialect(t, loopback, gateway.DialectAuto, format.header)
			good, err := f.CA.IssueClient(authtest.CertUser, mtls.LeafOptions{})
			if err != nil {
				t.Fatal(err)
			}
			other, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "other"})
			foreign, _ := other.IssueClient(authtest.CertUser, mtls.LeafOptions{})
			asks := nginxAsks("GET", "/v1/configuration/containers", "h")
			if res := asks.send(t, srv, map[string]string{format.header: format.encode(good.Cert)}); res.StatusCode != 200 || res.Header.Get("X-Gatehouse-User") != authtest.CertUser {
				t.Errorf("verified certificate: %d %q", res.StatusCode, res.Header.Get("X-Gatehouse-User"))
			}
			if res := asks.send(t, srv, map[string]string{format.header: format.encode(foreign.Cert)}); res.StatusCode != 401 {
				t.Errorf("certificate of another CA: %d, want 401", res.StatusCode)
			}
			// The same header from an address that is not a trusted proxy.
			_, far := forwardAuthDialect(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, gateway.DialectAuto, format.header)
			if res := asks.send(t, far, map[string]string{format.header: format.encode(good.Cert)}); res.StatusCode != 403 {
				t.Errorf("certificate header from an untrusted address: %d, want 403", res.StatusCode)
			}
		})
	}
}

// TestProxiesCertHeaderFormatsInGateway: in gateway mode behind HAProxy
// (TLS terminated there, the DER in a header), a trusted proxy's
// certificate proves the user; a client's own header does not.
func TestProxiesCertHeaderFormatsInGateway(t *testing.T) {
	f := authtest.New(t)
	good, _ := f.CA.IssueClient(authtest.CertUser, mtls.LeafOptions{})
	for _, tc := range []struct {
		trusted string
		want    int
	}{{"127.0.0.0/8", 200}, {"10.0.0.0/8", 401}} {
		p := gateway.Proxies{Trusted: []netip.Prefix{netip.MustParsePrefix(tc.trusted)}, ClientCertHeader: "X-SSL-Client-Der", Roots: f.CA.Pool()}
		srv := httptest.NewServer(p.Handler(f.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := auth.IdentityFrom(r.Context())
			w.Header().Set("X-User", id.Login())
		}))))
		req, _ := http.NewRequest("GET", srv.URL+"/v1/configuration/containers", nil)
		req.Header.Set("X-SSL-Client-Der", base64.StdEncoding.EncodeToString(good.Cert.Raw))
		req.Header.Set("X-Forwarded-Proto", "https")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		srv.Close()
		if res.StatusCode != tc.want {
			t.Errorf("trusted %s: %d, want %d", tc.trusted, res.StatusCode, tc.want)
		}
		if tc.want == 200 && res.Header.Get("X-User") != authtest.CertUser {
			t.Errorf("user %q", res.Header.Get("X-User"))
		}
	}
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// traefikCert is Traefik's PassTLSClientCert (pem: true): the PEM without
// its armour and line breaks, query-escaped.
func traefikCert(c *x509.Certificate) string {
	return url.QueryEscape(base64.StdEncoding.EncodeToString(c.Raw))
}

// envoyXFCC is an XFCC element as Envoy's forward_client_cert_details
// SANITIZE_SET with set_current_client_cert_details {cert: true} writes it.
func envoyXFCC(c *x509.Certificate) string {
	return `Hash=0f1e;Cert="` + url.QueryEscape(pemOf(c)) + `";Subject="CN=` + c.Subject.CommonName + `";URI=`
}

// FuzzParseCertHeader: any header value is read or refused, never a panic;
// whatever is read re-encodes to certificates that parse.
func FuzzParseCertHeader(f *testing.F) {
	fx := authtest.New(f)
	good, _ := fx.CA.IssueClient(authtest.CertUser, mtls.LeafOptions{})
	for _, v := range []string{url.PathEscape(pemOf(good.Cert)), base64.StdEncoding.EncodeToString(good.Cert.Raw),
		traefikCert(good.Cert), envoyXFCC(good.Cert), `Hash=1;Cert="a,b";Chain=`, "By=x;;", "%ZZ", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----", ",,,"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		certs, ok := gateway.ParseCertHeader(v)
		if ok != (len(certs) > 0) {
			t.Fatalf("ok %v with %d certificates", ok, len(certs))
		}
		for _, c := range certs {
			if _, err := x509.ParseCertificate(c.Raw); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// With AllowEncodedSeparators, forward-auth lets %2F and ";" through to
// the faces (whose own auth.Config must allow them too), and a plain path
// is answered as always.
func TestForwardAuthAllowEncodedSeparators(t *testing.T) {
	f := authtest.New(t)
	var seen []string
	faces := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.EscapedPath())
		w.WriteHeader(http.StatusUnauthorized)
	})
	h := gateway.ForwardAuth(gateway.ForwardAuthConfig{Dialect: gateway.DialectNginx, AllowEncodedSeparators: true,
		Proxies: gateway.Proxies{Trusted: loopback, Roots: f.CA.Pool()}}, faces)
	for _, p := range []string{"/api/x%2Fy", "/api/x;v=1", "/api/plain", "/api/../x"} {
		r := httptest.NewRequest("GET", "/auth/nginx", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("X-Original-URI", p)
		r.Header.Set("X-Original-Method", "GET")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		want := 401
		if p == "/api/../x" {
			want = 400 // dot segments stay refused
		}
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", p, rec.Code, want)
		}
	}
	if len(seen) != 3 {
		t.Errorf("the faces saw %v", seen)
	}
}
