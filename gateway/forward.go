package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/pathcheck"
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
	// passes the client certificate it verified, in any format
	// parseCertHeader reads (nginx: proxy_set_header X-Client-Cert
	// $ssl_client_escaped_cert; HAProxy: http-request set-header
	// X-Client-Cert %[ssl_c_der,base64]; Traefik:
	// X-Forwarded-Tls-Client-Cert; Envoy: X-Forwarded-Client-Cert). Name it
	// only when the proxy always sets or removes that header: a
	// certificate is public, so one a client writes must never arrive.
	ClientCertHeader string
	// Roots verifies that certificate again (the cluster CA's pool); a
	// certificate that does not verify is seen as unverified, which the
	// mtls scheme refuses.
	Roots *x509.CertPool
	// Env is the service's shared settings (auth.Env): the clock of that
	// verification.
	Env auth.Env
}

// trustsRequest reports whether r comes straight from a trusted proxy.
func (p Proxies) trustsRequest(r *http.Request) bool {
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
	if !p.trustsRequest(r) {
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

// maxCertsInHeader bounds the chain a certificate header may carry.
const maxCertsInHeader = 8

// parseCertHeader reads the client certificate (and any chain after it)
// that a proxy passes in a header, in each format proxies send:
//   - PEM, URL-escaped or not (nginx's $ssl_client_escaped_cert and
//     $ssl_client_cert);
//   - base64 DER, standard or URL alphabet (HAProxy's %[ssl_c_der,base64]);
//   - Traefik's X-Forwarded-Tls-Client-Cert: URL-escaped base64 DER without
//     PEM armour, certificates separated by commas;
//   - Envoy's X-Forwarded-Client-Cert (XFCC): the last element's Chain, or
//     else its Cert, a quoted URL-escaped PEM.
//
// It verifies nothing; ok is false when v is none of these or holds
// anything but certificates.
func parseCertHeader(v string) (certs []*x509.Certificate, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxCertHeader {
		return nil, false
	}
	if isXFCC(v) {
		if v, ok = xfccCert(v); !ok {
			return nil, false
		}
	}
	if strings.Contains(v, "%") {
		unescape := url.PathUnescape // keeps a '+' of base64
		if strings.Contains(v, "BEGIN+CERTIFICATE") {
			unescape = url.QueryUnescape // query escaping: '+' is a space
		}
		u, err := unescape(v)
		if err != nil {
			return nil, false
		}
		v = u
	}
	if strings.Contains(v, "-----BEGIN") {
		return parsePEMCerts(v)
	}
	for part := range strings.SplitSeq(v, ",") {
		der, ok := decodeBase64(strings.TrimSpace(part))
		if !ok || len(certs) == maxCertsInHeader {
			return nil, false
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, false
		}
		certs = append(certs, c)
	}
	return certs, len(certs) > 0
}

// parsePEMCerts reads PEM CERTIFICATE blocks and nothing else. Line
// breaks inside a block may have become spaces or tabs (nginx's
// $ssl_client_cert, a header folded by a proxy).
func parsePEMCerts(v string) ([]*x509.Certificate, bool) {
	const begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
	var certs []*x509.Certificate
	rest := strings.TrimSpace(v)
	for rest != "" {
		body, ok := strings.CutPrefix(rest, begin)
		if !ok || len(certs) == maxCertsInHeader {
			return nil, false
		}
		b64, after, ok := strings.Cut(body, end)
		if !ok {
			return nil, false
		}
		der, ok := decodeBase64(b64)
		if !ok {
			return nil, false
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, false
		}
		certs = append(certs, c)
		rest = strings.TrimSpace(after)
	}
	return certs, len(certs) > 0
}

// decodeBase64 decodes s in the standard or URL alphabet, padded or not,
// ignoring line breaks.
func decodeBase64(s string) ([]byte, bool) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// isXFCC: v is an Envoy X-Forwarded-Client-Cert value (key=value pairs).
func isXFCC(v string) bool {
	for _, k := range []string{"Hash=", "Cert=", "Chain=", "By=", "Subject="} {
		if strings.HasPrefix(v, k) || strings.Contains(v, ";"+k) || strings.Contains(v, ","+k) {
			return true
		}
	}
	return false
}

// xfccCert is the PEM (still URL-escaped) of the last XFCC element: the
// one the nearest Envoy added, about the client it saw. Its Chain when
// present (leaf first), else its Cert.
func xfccCert(v string) (string, bool) {
	elements := splitQuoted(v, ',')
	fields := map[string]string{}
	for _, pair := range splitQuoted(elements[len(elements)-1], ';') {
		k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return "", false
		}
		k = strings.ToLower(k)
		if _, dup := fields[k]; dup {
			return "", false
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		fields[k] = val
	}
	if c := fields["chain"]; c != "" {
		return c, true
	}
	c := fields["cert"]
	return c, c != ""
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// addClientCert puts the certificate of header value v into state, with
// VerifiedChains only if it verifies against p.Roots for client auth.
func (p Proxies) addClientCert(state *tls.ConnectionState, v string) {
	certs, ok := parseCertHeader(v)
	if !ok {
		return
	}
	state.PeerCertificates = certs
	if p.Roots == nil {
		return
	}
	now := envx.Clock(p.Env.Now)
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

// Dialect is the way a proxy describes the original request to
// forward-auth. Each proxy family sends its own headers, and also passes on
// whatever its client wrote, so an endpoint must read only its own
// family's headers: behind Traefik, a client-written X-Original-URI (nginx's
// header) must not choose the path that is authorized.
type Dialect int

const (
	// DialectAuto accepts any one dialect and refuses (400) a request
	// that carries the description of more than one: X-Original-URI or
	// -Method (nginx) beside X-Forwarded-Uri or -Method (Traefik, Caddy),
	// or either beside a path after ForwardAuthConfig.Path (Envoy). Each
	// proxy always sets its own, so a client who adds another's is
	// refused, never believed. Prefer a dialect of its own per proxy.
	DialectAuto Dialect = iota
	// DialectNginx is nginx's auth_request: X-Original-Method and
	// X-Original-URI.
	DialectNginx
	// DialectTraefik is Traefik's ForwardAuth and Caddy's forward_auth:
	// X-Forwarded-Method and X-Forwarded-Uri.
	DialectTraefik
	// DialectEnvoy is Envoy's HTTP ext_authz: the request's own method and
	// the path after ForwardAuthConfig.Path (Envoy's path_prefix).
	DialectEnvoy
)

// ForwardAuthConfig configures ForwardAuth.
type ForwardAuthConfig struct {
	// Proxies are the proxies that may ask; requests from other addresses
	// are answered 403. Give each dialect's endpoint only the addresses of
	// the proxies that speak it.
	Proxies Proxies
	// Path is where the endpoint is mounted (default "/auth/verify"):
	// Envoy's ext_authz appends the original path to it.
	Path string
	// Dialect is the proxy family this endpoint answers (default
	// DialectAuto). Headers of another family are refused with 400.
	Dialect Dialect
	// AllowEncodedSeparators lets %2F, %5C and %00 inside a segment of
	// the original path through (see internal/pathcheck); the faces' own
	// auth.Config must allow them too.
	AllowEncodedSeparators bool
}

// original is how a dialect describes the original request.
type original struct {
	method, uri string
}

// describe reads the original method and URI the way d's proxies send
// them; ok is false when the request also carries another dialect's
// description (a client wrote it: its proxy passes it on).
func (cfg ForwardAuthConfig) describe(r *http.Request) (o original, ok bool) {
	nginx := original{r.Header.Get("X-Original-Method"), r.Header.Get("X-Original-URI")}
	traefik := original{r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Forwarded-Uri")}
	// Envoy appends the original path, which starts with "/", to Path; a
	// query alone on the asking request (Caddy keeps the client's when it
	// rewrites to the endpoint) describes nothing.
	envoy := original{r.Method, ""}
	if rest, ok := strings.CutPrefix(r.URL.RequestURI(), cfg.Path); ok && strings.HasPrefix(rest, "/") {
		envoy.uri = rest
	}
	has := func(o original) bool { return o.method != "" || o.uri != "" }
	hasEnvoy := envoy.uri != ""
	switch cfg.Dialect {
	case DialectNginx:
		return nginx, !has(traefik) && !hasEnvoy
	case DialectTraefik:
		return traefik, !has(nginx) && !hasEnvoy
	case DialectEnvoy:
		if envoy.uri == "" {
			envoy.uri = "/"
		}
		return envoy, !has(nginx) && !has(traefik)
	}
	n := 0
	for _, b := range []bool{has(nginx), has(traefik), hasEnvoy} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		return original{}, false
	case has(nginx):
		return nginx, true
	case has(traefik):
		return traefik, true
	case hasEnvoy:
		return envoy, true
	}
	return original{r.Method, "/"}, true // Envoy asking for "/" with path_prefix ending in "/"
}

// ForwardAuth answers a proxy's question "may this request pass?". It
// rebuilds the original request the way cfg.Dialect's proxies describe it
// (method and URI; host, TLS, client address and certificate as Proxies
// describes; no body) and hands it to faces, whose handler for an allowed
// request must be Allow. So a request passes or fails exactly as it would
// on gatehouse directly, and an OAuth 1 signature is checked against the
// original URL.
//
// Only Allow admits a request: any other success or redirect from faces
// (gatehouse's own anonymous pages such as /ca.crt or /.well-known/…, a
// token endpoint) is answered 403, so that a proxy never admits the
// upstream's path of the same name. Route those endpoints to gatehouse
// itself. A path with an encoded separator is refused with 400 unless
// cfg.AllowEncodedSeparators.
func ForwardAuth(cfg ForwardAuthConfig, faces http.Handler) http.Handler {
	if cfg.Path == "" {
		cfg.Path = "/auth/verify"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.Proxies.trustsRequest(r) {
			writeProblem(w, http.StatusForbidden, "forward-auth answers trusted proxies only")
			return
		}
		o, ok := cfg.describe(r)
		if !ok {
			writeProblem(w, http.StatusBadRequest, "the request describes the original request in more than one proxy's headers")
			return
		}
		method, uri := strings.TrimSpace(o.method), strings.TrimSpace(o.uri)
		if method == "" {
			method = http.MethodGet
		}
		u, err := url.ParseRequestURI(uri)
		if err != nil || !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || !validMethod(method) {
			writeProblem(w, http.StatusBadRequest, "the original method or URI is not valid")
			return
		}
		orig := r.Clone(r.Context())
		orig.Method, orig.URL, orig.RequestURI = method, u, uri
		if err := checkOriginalPath(orig, cfg.AllowEncodedSeparators); err != nil {
			// The mux in front of the faces would redirect a dot segment;
			// a proxy would pass that redirect on or fail with 500.
			writeProblem(w, http.StatusBadRequest, auth.AsError(err).Text())
			return
		}
		if r.ContentLength <= 0 || !isForm(r) {
			// The body of the original request, when the proxy sends it
			// (nginx with proxy_pass_request_body on, Envoy's
			// with_request_body), is kept for a form: OAuth 1 signs its
			// parameters. Anything else is no part of the question.
			orig.Body, orig.ContentLength, orig.GetBody = http.NoBody, 0, nil
			orig.Header.Del("Content-Length")
		}
		gate := &allowGate{w: w}
		orig = orig.WithContext(context.WithValue(orig.Context(), allowKey{}, gate))
		faces.ServeHTTP(gate, cfg.Proxies.apply(orig))
	})
}

// isForm: r's body is application/x-www-form-urlencoded.
func isForm(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

// checkOriginalPath refuses an original path auth.Middleware would refuse
// as malformed, with encoded separators let through when allowed (the
// faces' middleware then judges them).
func checkOriginalPath(r *http.Request, allowSeparators bool) error {
	if p := pathcheck.Problem(r.URL.EscapedPath(), allowSeparators); p != "" {
		return &auth.Error{Reason: auth.ReasonMalformed, Message: "request path " + p}
	}
	return nil
}

// allowKey is the context key of the allowGate of a forward-auth request.
type allowKey struct{}

// allowGate passes faces' answer on to the proxy when it is a refusal or
// came from Allow, and turns any other success or redirect into 403.
type allowGate struct {
	w        http.ResponseWriter
	allowed  bool // Allow is answering
	replaced bool // the answer was replaced: drop what follows
	wrote    bool
}

func (g *allowGate) Header() http.Header {
	if g.replaced {
		return http.Header{}
	}
	return g.w.Header()
}

func (g *allowGate) WriteHeader(code int) {
	if g.wrote {
		return
	}
	g.wrote = true
	if code == http.StatusUnauthorized {
		// nginx before 1.23 passes on only the first of several
		// WWW-Authenticate headers: one header, the challenges in order
		// (RFC 9110 §11.6.1), reaches the client whole through every proxy.
		if cs := g.w.Header().Values("WWW-Authenticate"); len(cs) > 1 {
			g.w.Header().Set("WWW-Authenticate", strings.Join(cs, ", "))
		}
	}
	if code < 400 && !g.allowed {
		g.replaced = true
		h := g.w.Header()
		for k := range h {
			delete(h, k)
		}
		writeProblem(g.w, http.StatusForbidden, "forward-auth decides only for the upstream's routes; route gatehouse's own endpoints to gatehouse")
		return
	}
	g.w.WriteHeader(code)
}

func (g *allowGate) Write(b []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.replaced {
		return len(b), nil
	}
	return g.w.Write(b)
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

// upstreamURIHeader and upstreamCookieHeader are what Allow answers a
// proxy with beside the identity: the original request's URI and Cookie
// header without credentials. A proxy that can use them (nginx:
// proxy_pass http://app$gatehouse_uri; proxy_set_header Cookie
// $gatehouse_cookie) keeps every credential from the upstream, as gateway
// mode does.
const (
	upstreamURIHeader    = "X-Gatehouse-Uri"
	upstreamCookieHeader = "X-Gatehouse-Cookie"
)

// Allow is the handler faces run for an allowed forward-auth request: 200,
// no body, the identity in headers (signed with key when it is set) for
// the proxy to pass upstream.
func Allow(headers Headers, key []byte, now func() time.Time) http.Handler {
	headers = headers.orDefault()
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gate, ok := r.Context().Value(allowKey{}).(*allowGate); ok {
			gate.allowed = true
		}
		w.Header().Set("Cache-Control", "no-store")
		// What the proxy should send upstream in place of the client's URI
		// and Cookie header: the same, without credentials (xCAT's
		// userName/userPW, OAuth parameters, the session cookie).
		uri := r.URL.EscapedPath()
		if q := httpx.StripQueryCredentials(r.URL.RawQuery); q != "" {
			uri += "?" + q
		}
		w.Header().Set(upstreamURIHeader, uri)
		w.Header().Set(upstreamCookieHeader, keptCookies(r.Header.Values("Cookie"), credentialCookies))
		if id, ok := auth.IdentityFrom(r.Context()); ok && id != nil {
			f := identityFields(id)
			// Every header is sent, empty or not: a proxy that copies them
			// (Caddy's {rp.header.…}) then sets "", never its placeholder.
			w.Header().Set(headers.User, f.User)
			w.Header().Set(headers.Groups, f.Groups)
			w.Header().Set(headers.Scheme, f.Scheme)
			if key != nil {
				w.Header().Set(headers.Signature, sign(key, f, now(), r.Method, r.URL.EscapedPath()))
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}
