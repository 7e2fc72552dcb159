package main

import (
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
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
)

// forwardAuthPath is where --forward-auth answers (Envoy appends the
// original path to it).
const forwardAuthPath = "/auth/verify"

// gatewayOptions are serve's gateway and forward-auth flags.
type gatewayOptions struct {
	upstreamURL, defaultFace, signKeyFile, clientCertHeader string
	prefixes, trusted                                       stringList
	headers                                                 gateway.Headers
	forwardAuth                                             bool

	upstream     *url.URL
	signKey      []byte
	trustedNets  []netip.Prefix
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
	fs.BoolVar(&g.forwardAuth, "forward-auth", false, "answer nginx auth_request, Traefik ForwardAuth and Envoy ext_authz at "+forwardAuthPath)
	fs.Var(&g.trusted, "trusted-proxy", "a proxy network (CIDR) whose X-Forwarded-Proto/-Host/-For and client-certificate header are believed (repeatable; forward-auth default: loopback)")
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
		key, err := os.ReadFile(g.signKeyFile)
		if err != nil {
			return err
		}
		if key = []byte(strings.TrimSpace(string(key))); len(key) < 32 {
			return fmt.Errorf("%s: a signing key needs at least 32 bytes", g.signKeyFile)
		}
		g.signKey = key
	}
	for _, c := range g.trusted {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return usageError("--trusted-proxy %q is not a CIDR or address", c)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.trustedNets = append(g.trustedNets, p.Masked())
	}
	g.trustProxies = len(g.trustedNets) > 0
	if !g.trustProxies && g.forwardAuth {
		g.trustedNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if g.clientCertHeader != "" && len(g.trustedNets) == 0 {
		return errors.New("--client-cert-header needs --trusted-proxy (or --forward-auth): only a trusted proxy may pass a certificate")
	}
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
	mux := http.NewServeMux()
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

// withForwardAuth mounts verify (when not nil) at forwardAuthPath in front
// of next.
func withForwardAuth(next, verify http.Handler) http.Handler {
	if verify == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == forwardAuthPath || strings.HasPrefix(p, forwardAuthPath+"/") {
			verify.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
