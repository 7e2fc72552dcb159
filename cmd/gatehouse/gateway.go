package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
)

// forwardAuthPath is where --forward-auth answers any one proxy dialect
// (Envoy appends the original path to it).
const forwardAuthPath = "/auth/verify"

// forwardAuthEndpoints are --forward-auth's endpoints: one per proxy
// dialect, each reading only its own family's headers (a client behind
// Traefik cannot choose the path with nginx's X-Original-URI), and
// forwardAuthPath for any one of them.
var forwardAuthEndpoints = []struct {
	path    string
	dialect gateway.Dialect
}{
	{forwardAuthPath, gateway.DialectAuto},
	{"/auth/nginx", gateway.DialectNginx},
	{"/auth/traefik", gateway.DialectTraefik}, // Caddy's forward_auth too
	{"/auth/envoy", gateway.DialectEnvoy},
}

// dialectNames are the names --trusted-proxy takes before "=".
var dialectNames = map[string]gateway.Dialect{"nginx": gateway.DialectNginx, "traefik": gateway.DialectTraefik,
	"caddy": gateway.DialectTraefik, "envoy": gateway.DialectEnvoy}

// gatewayOptions are serve's gateway and forward-auth flags.
type gatewayOptions struct {
	upstreamURL, defaultFace, signKeyFile, clientCertHeader string
	prefixes, trusted                                       stringList
	headers                                                 gateway.Headers
	forwardAuth, encodedSeparators                          bool

	upstream    *url.URL
	signKey     []byte
	trustedNets []netip.Prefix
	// dialectNets are the proxies trusted for one forward-auth dialect
	// only (--trusted-proxy nginx=CIDR).
	dialectNets  map[gateway.Dialect][]netip.Prefix
	trustProxies bool // --trusted-proxy was given: apply X-Forwarded-* in gateway mode too
}

func (g *gatewayOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&g.upstreamURL, "upstream", "", "gateway mode: forward every authenticated, allowed request to this URL (http[s]://host:port[/base]) instead of the sample API")
	fs.Var(&g.prefixes, "upstream-path-prefix", "gateway mode: forward only paths under this prefix (repeatable; default: every path); others get 404")
	fs.StringVar(&g.defaultFace, "default-face", "satellite", "in gateway and forward-auth mode, the face for paths outside the four products' prefixes: satellite (Basic, PAT, OAuth 1), flocker (client certificates) or none (404)")
	fs.StringVar(&g.headers.User, "user-header", gateway.DefaultHeaders.User, "identity header: the login")
	fs.StringVar(&g.headers.Groups, "groups-header", gateway.DefaultHeaders.Groups, "identity header: the groups, comma-separated")
	fs.StringVar(&g.headers.Scheme, "scheme-header", gateway.DefaultHeaders.Scheme, "identity header: the scheme")
	fs.StringVar(&g.headers.Signature, "signature-header", gateway.DefaultHeaders.Signature, "identity header: the HMAC signature (with --sign-key-file)")
	fs.StringVar(&g.signKeyFile, "sign-key-file", "", "sign the identity headers with HMAC-SHA256 under the key in this file (at least 32 bytes; check them upstream with gateway.Verifier)")
	fs.BoolVar(&g.forwardAuth, "forward-auth", false, "answer proxies' forward-auth questions: nginx auth_request at /auth/nginx, Traefik and Caddy forward_auth at /auth/traefik, Envoy ext_authz at /auth/envoy, any one of them at "+forwardAuthPath)
	fs.Var(&g.trusted, "trusted-proxy", "a proxy network (CIDR) whose X-Forwarded-Proto/-Host/-For and client-certificate header are believed; DIALECT=CIDR (nginx, traefik, caddy, envoy) trusts it for that forward-auth endpoint only (repeatable; forward-auth default: loopback)")
	fs.BoolVar(&g.encodedSeparators, "allow-encoded-slashes", false, "accept %2F, %5C and %00 inside a path segment (refused with 400 by default: policy rules would see one segment where the upstream may see two)")
	fs.StringVar(&g.clientCertHeader, "client-cert-header", "", "header in which a trusted proxy passes the client certificate it verified (nginx: $ssl_client_escaped_cert)")
}

// check validates the flags and loads the key.
func (g *gatewayOptions) check(e *env) error {
	if g.upstreamURL != "" {
		u, err := url.Parse(g.upstreamURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError("--upstream must be an http:// or https:// URL with a host")
		}
		g.upstream = u
	} else if len(g.prefixes) > 0 {
		return usageError("--upstream-path-prefix needs --upstream")
	}
	for _, p := range g.prefixes {
		if !strings.HasPrefix(p, "/") {
			return usageError("--upstream-path-prefix %q must start with /", p)
		}
	}
	switch g.defaultFace {
	case "satellite", "flocker", "none":
	default:
		return usageError("--default-face must be satellite, flocker or none")
	}
	for _, h := range []string{g.headers.User, g.headers.Groups, g.headers.Scheme, g.headers.Signature} {
		if h == "" || strings.ContainsAny(h, " :\r\n") {
			return usageError("identity header names must be non-empty tokens")
		}
	}
	if g.signKeyFile != "" {
		if fi, err := os.Stat(g.signKeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			// Whoever reads the key can sign any identity for the upstream.
			return fmt.Errorf("%s is readable by others (mode %o): chmod 600 %s", g.signKeyFile, fi.Mode().Perm(), g.signKeyFile)
		}
		key, err := os.ReadFile(g.signKeyFile)
		if err != nil {
			return fmt.Errorf("%w (gatehouse gateway keygen --out %s makes one)", err, g.signKeyFile)
		}
		if key = []byte(strings.TrimSpace(string(key))); len(key) < 32 {
			return fmt.Errorf("%s: a signing key needs at least 32 bytes", g.signKeyFile)
		}
		g.signKey = key
	}
	for _, c := range g.trusted {
		name, cidr, dialectOnly := strings.Cut(c, "=")
		if !dialectOnly {
			cidr = c
		}
		dialect, known := dialectNames[name]
		if dialectOnly && !known {
			return usageError("--trusted-proxy %q: %q is not a proxy dialect (nginx, traefik, caddy or envoy)", c, name)
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return usageError("--trusted-proxy %q is not a CIDR or address", c)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if dialectOnly {
			if g.dialectNets == nil {
				g.dialectNets = map[gateway.Dialect][]netip.Prefix{}
			}
			g.dialectNets[dialect] = append(g.dialectNets[dialect], p.Masked())
			continue
		}
		g.trustedNets = append(g.trustedNets, p.Masked())
	}
	if len(g.dialectNets) > 0 && !g.forwardAuth {
		return usageError("--trusted-proxy DIALECT=CIDR needs --forward-auth")
	}
	g.trustProxies = len(g.trustedNets) > 0
	if !g.trustProxies && len(g.dialectNets) == 0 && g.forwardAuth {
		g.trustedNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if g.clientCertHeader != "" && len(g.trustedNets) == 0 && len(g.dialectNets) == 0 {
		return errors.New("--client-cert-header needs --trusted-proxy (or --forward-auth): only a trusted proxy may pass a certificate")
	}
	return nil
}

func init() {
	verbs = append(verbs, verb{name: "gateway keygen", args: "[--out FILE]",
		help: "make a key to sign the identity headers with (serve --sign-key-file; 0600)", run: cmdGatewayKeygen})
}

// cmdGatewayKeygen writes a new signing key (32 random bytes, hex) to a
// file only its owner reads, never over an existing one.
func cmdGatewayKeygen(e *env, args []string) error {
	out := "identity.key"
	if _, err := parse(e, "gateway keygen", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", out, "the key file to create")
	}, 0, 0); err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists already (a new key would break every upstream that checks the old one)", out)
	}
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%x\n", key); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote a signing key to %s (0600); give it to serve --sign-key-file and to the upstream's gateway.Verifier\n", out)
	return nil
}

// proxies is what trusted proxies may say.
func (g *gatewayOptions) proxies(ca *mtls.CA) gateway.Proxies {
	return gateway.Proxies{Trusted: g.trustedNets, ClientCertHeader: g.clientCertHeader, Roots: ca.Pool()}
}

// proxy is the reverse proxy to --upstream, limited to the path prefixes.
func (g *gatewayOptions) proxy(logger *slog.Logger, m *metrics.Metrics) http.Handler {
	cfg := gateway.Config{Upstream: g.upstream, Headers: g.headers, SignKey: g.signKey, ErrorLog: logger}
	if m != nil {
		cfg.Observe = m.ObserveUpstream
	}
	h := gateway.New(cfg)
	if len(g.prefixes) == 0 {
		return h
	}
	mux := route.New()
	for _, p := range g.prefixes {
		mux.Handle(p, h)
		if !strings.HasSuffix(p, "/") {
			mux.Handle(p+"/", h)
		}
	}
	return mux
}

// allow answers an allowed forward-auth request.
func (g *gatewayOptions) allow() http.Handler { return gateway.Allow(g.headers, g.signKey, nil) }

// otherPaths is the handler for paths outside the faces: nil (404) unless
// serve forwards or answers forward-auth, then the --default-face.
func (g *gatewayOptions) otherPaths(p *preset.Presets, api http.Handler) http.Handler {
	if g.upstream == nil && !g.forwardAuth {
		return nil
	}
	switch g.defaultFace {
	case "satellite":
		return p.Satellite(api)
	case "flocker":
		return p.Flocker(api)
	}
	return nil
}

// forwardAuth is the forward-auth endpoints over faces (whose handler for
// an allowed request is allow): each dialect at its path, trusting the
// common --trusted-proxy networks and its own.
func (g *gatewayOptions) verifier(ca *mtls.CA, faces http.Handler) http.Handler {
	handlers := make([]http.Handler, len(forwardAuthEndpoints))
	for i, ep := range forwardAuthEndpoints {
		proxies := g.proxies(ca)
		proxies.Trusted = append(append([]netip.Prefix{}, g.trustedNets...), g.dialectNets[ep.dialect]...)
		handlers[i] = gateway.ForwardAuth(gateway.ForwardAuthConfig{Proxies: proxies, Path: ep.path, Dialect: ep.dialect,
			AllowEncodedSeparators: g.encodedSeparators}, faces)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[forwardAuthEndpoint(r.URL.Path)].ServeHTTP(w, r)
	})
}

// forwardAuthEndpoint is the index in forwardAuthEndpoints of the endpoint
// that serves path, or -1.
func forwardAuthEndpoint(path string) int {
	for i, ep := range forwardAuthEndpoints {
		if path == ep.path || strings.HasPrefix(path, ep.path+"/") {
			return i
		}
	}
	return -1
}

// withForwardAuth sends the forward-auth endpoints' paths to verify (when
// not nil) and the rest to next. It matches by prefix, before any
// ServeMux could clean or redirect an Envoy path.
func withForwardAuth(next, verify http.Handler) http.Handler {
	if verify == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forwardAuthEndpoint(r.URL.Path) >= 0 {
			verify.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
