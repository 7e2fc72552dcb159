package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// Proxies describes the TLS-terminating proxies allowed to speak for their
// clients. Only a request from a Trusted address may say that the client
// used TLS (X-Forwarded-Proto), which host it asked for (X-Forwarded-Host),
// its own address (X-Forwarded-For) and the certificate it presented
// (ClientCertHeader); from anywhere else those headers are ignored and
// ClientCertHeader is removed.
type Proxies struct {
	// Trusted are the proxies' networks (127.0.0.1/32, 10.0.0.0/8, …).
	Trusted []netip.Prefix
	// ClientCertHeader, when set, names the header in which the proxy
	// passes the client certificate it verified, as a PEM block, URL-escaped
	// or not (nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert).
	ClientCertHeader string
	// Roots verifies that certificate again (the cluster CA's pool); a
	// certificate that does not verify is seen as unverified, which the
	// mtls scheme refuses.
	Roots *x509.CertPool
	// Now is the clock of that verification; nil = time.Now.
	Now func() time.Time
}

// Trusts reports whether r comes straight from a trusted proxy.
func (p Proxies) Trusts(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return p.trusts(addr.Unmap())
}

func (p Proxies) trusts(addr netip.Addr) bool {
	for _, n := range p.Trusted {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// Handler applies what trusted proxies say to each request (see Proxies)
// before next sees it; use it to run gatehouse behind a TLS-terminating
// proxy in gateway mode.
func (p Proxies) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, p.apply(r))
	})
}

// apply returns r as its client sent it to the proxy when r comes from a
// trusted proxy, and r without ClientCertHeader otherwise.
func (p Proxies) apply(r *http.Request) *http.Request {
	if !p.Trusts(r) {
		if p.ClientCertHeader != "" && r.Header.Get(p.ClientCertHeader) != "" {
			r = r.Clone(r.Context())
			r.Header.Del(p.ClientCertHeader)
		}
		return r
	}
	r = r.Clone(r.Context())
	switch proto := strings.ToLower(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto")))); proto {
	case "https", "wss":
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13}
	case "http", "ws":
		r.TLS = nil
	}
	if r.TLS != nil {
		state := *r.TLS // the proxy's own certificate is not the client's
		state.PeerCertificates, state.VerifiedChains = nil, nil
		r.TLS = &state
	}
	if h := strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Host"))); h != "" {
		r.Host = h
	}
	if client, ok := p.clientAddr(r.Header.Values("X-Forwarded-For")); ok {
		r.RemoteAddr = net.JoinHostPort(client.String(), "0")
	}
	if p.ClientCertHeader != "" {
		if v := r.Header.Get(p.ClientCertHeader); v != "" && r.TLS != nil {
			p.addClientCert(r.TLS, v)
		}
		r.Header.Del(p.ClientCertHeader)
	}
	return r
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return first
}

// clientAddr is the right-most X-Forwarded-For address that is not a
// trusted proxy: the client as the first trusted proxy saw it (what is
// left of it, the client may have written itself).
func (p Proxies) clientAddr(values []string) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		if addr = addr.Unmap(); !p.trusts(addr) {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// maxCertHeader bounds the certificate header (a chain of a few
// certificates, URL-escaped).
const maxCertHeader = 32 << 10

// addClientCert puts the certificate of header value v into state, with
// VerifiedChains only if it verifies against p.Roots for client auth.
func (p Proxies) addClientCert(state *tls.ConnectionState, v string) {
	if len(v) > maxCertHeader {
		return
	}
	if strings.Contains(v, "%") {
		u, err := url.PathUnescape(v)
		if err != nil {
			return
		}
		v = u
	}
	var certs []*x509.Certificate
	rest := []byte(v)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil || block.Type != "CERTIFICATE" {
			return
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return
	}
	state.PeerCertificates = certs
	if p.Roots == nil {
		return
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	// Expiry is the mtls scheme's to judge (with its own message), so the
	// chain is verified at a time the leaf is valid.
	at := now()
	if leaf := certs[0]; at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{Roots: p.Roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err == nil {
		state.VerifiedChains = chains
	}
}

// ForwardAuthConfig configures ForwardAuth.
type ForwardAuthConfig struct {
	// Proxies are the proxies that may ask; requests from other addresses
	// are answered 403.
	Proxies Proxies
	// Path is where the endpoint is mounted (default "/auth/verify"):
	// Envoy's ext_authz appends the original path to it.
	Path string
}

// ForwardAuth answers a proxy's question "may this request pass?". It
// rebuilds the original request — method from X-Original-Method (nginx) or
// X-Forwarded-Method (Traefik) or the request's own (Envoy), URI from
// X-Original-URI (nginx), X-Forwarded-Uri (Traefik) or the path after
// cfg.Path (Envoy), host, TLS, client address and certificate as Proxies
// describes, no body — and hands it to faces, whose handler for an allowed
// request should be Allow. So a request passes or fails exactly as it would
// on gatehouse directly, and an OAuth 1 signature is checked against the
// original URL.
func ForwardAuth(cfg ForwardAuthConfig, faces http.Handler) http.Handler {
	if cfg.Path == "" {
		cfg.Path = "/auth/verify"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.Proxies.Trusts(r) {
			writeProblem(w, http.StatusForbidden, "forward-auth answers trusted proxies only")
			return
		}
		method := firstNonEmpty(r.Header.Get("X-Original-Method"), r.Header.Get("X-Forwarded-Method"), r.Method)
		uri := firstNonEmpty(r.Header.Get("X-Original-URI"), r.Header.Get("X-Forwarded-Uri"))
		if uri == "" {
			uri = strings.TrimPrefix(r.URL.RequestURI(), cfg.Path)
			if uri == "" || uri[0] == '?' {
				uri = "/" + uri
			}
		}
		u, err := url.ParseRequestURI(uri)
		if err != nil || !strings.HasPrefix(uri, "/") || !validMethod(method) {
			writeProblem(w, http.StatusBadRequest, "the original method or URI is not valid")
			return
		}
		orig := r.Clone(r.Context())
		orig.Method, orig.URL, orig.RequestURI = method, u, uri
		if err := auth.CheckPath(orig); err != nil {
			// The mux in front of the faces would redirect a dot segment;
			// a proxy would pass that redirect on or fail with 500.
			writeProblem(w, http.StatusBadRequest, "the original path is not in canonical form")
			return
		}
		orig.Body, orig.ContentLength, orig.GetBody = http.NoBody, 0, nil
		orig.Header.Del("Content-Length")
		faces.ServeHTTP(w, cfg.Proxies.apply(orig))
	})
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// validMethod: an RFC 9110 token of at most 32 bytes.
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Allow is the handler faces run for an allowed forward-auth request: 200,
// no body, the identity in headers (signed with key when it is set) for
// the proxy to pass upstream.
func Allow(headers Headers, key []byte, now func() time.Time) http.Handler {
	headers = headers.orDefault()
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if id, ok := auth.IdentityFrom(r.Context()); ok && id != nil {
			f := identityFields(id)
			w.Header().Set(headers.User, f.User)
			if f.Groups != "" {
				w.Header().Set(headers.Groups, f.Groups)
			}
			w.Header().Set(headers.Scheme, f.Scheme)
			if key != nil {
				w.Header().Set(headers.Signature, Sign(key, f, now(), r.Method, r.URL.EscapedPath()))
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}
