package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"

	"github.com/gatehouse/gatehouse/internal/logbuf"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/textlog"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

// The listeners' timeouts: a client that sends a body slower than
// readTimeout (or stops, as a truncated request does) is answered 4xx and
// dropped instead of holding a goroutine.
const (
	readTimeout  = 30 * time.Second
	writeTimeout = 60 * time.Second
	idleTimeout  = 2 * time.Minute
)

// xCAT publishes its CA here, without authentication.
const xcatCAPath = "/install/postscripts/ca/ca-cert.pem"

// maxHeaderBytes bounds a request's header block (Go's default is 1 MB):
// real clients send a few KiB, and every OAuth parameter, credential and
// cookie gatehouse reads fits well within it. Larger requests get 431.
const maxHeaderBytes = 64 << 10

type serveOptions struct {
	addr, httpAddr string
	metricsAddr    string
	externalURL    string
	demo, insecure bool
	// oidc: an external OpenID Connect provider whose tokens every face's
	// Bearer and X-Auth-Token also take.
	oidcIssuer, oidcAudience, oidcCA, oidcDomain string
	logFormat                                    string
	logFlush                                     time.Duration
	gw                                           gatewayOptions
	// drain is how long serve keeps serving after SIGTERM with /readyz
	// failing, so that a load balancer's health checks take it out first.
	drain time.Duration
	// proxyProtocol are the balancers (CIDRs) whose connections begin with
	// a PROXY protocol header.
	proxyProtocol stringList
}

func cmdServe(e *env, args []string) error {
	var o serveOptions
	if _, err := parse(e, "serve", args, func(fs *flag.FlagSet) {
		fs.StringVar(&o.addr, "addr", "127.0.0.1:8443", "HTTPS listen address")
		fs.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:8080", `plain-HTTP listen address: redirects to HTTPS, serves the CA downloads ("" = none)`)
		fs.BoolVar(&o.demo, "demo", false, "on a store without users: create one demo user per face and print curl lines")
		fs.StringVar(&o.logFormat, "log", "text", "audit log format on standard error: text or json")
		fs.DurationVar(&o.logFlush, "log-flush", 100*time.Millisecond, "write the audit log in batches at least this often (0 = each line at once); what is held is written at shutdown")
		fs.StringVar(&o.metricsAddr, "metrics-addr", "", `serve Prometheus metrics at http://ADDR/metrics ("" = off); no credentials needed, so keep it on loopback or a private network`)
		fs.StringVar(&o.externalURL, "external-url", "", `how clients reach this server (https://host[:port]): the plain-HTTP listener redirects there and the OAuth metadata names it as issuer ("" = from each request's Host header)`)
		fs.BoolVar(&o.insecure, "allow-insecure", false, "serve the API on the plain-HTTP listener too and accept credentials there (development only)")
		fs.Var(&o.proxyProtocol, "proxy-protocol", "CIDR of a load balancer passing TLS through (HAProxy send-proxy-v2): its connections must begin with a PROXY protocol header, and the client address in it is the one throttled and logged (repeatable)")
		fs.DurationVar(&o.drain, "drain", 5*time.Second, "on SIGTERM, keep serving this long with /readyz answering 503, so that a load balancer's health checks take the server out before it stops (a second signal ends the wait)")
		fs.StringVar(&o.oidcIssuer, "oidc-issuer", "", `also accept the JWT access tokens of this OpenID Connect provider (https://idp.example/realms/NAME, e.g. Keycloak) on every face's Bearer and X-Auth-Token ("" = none)`)
		fs.StringVar(&o.oidcAudience, "oidc-audience", "", "the audience (aud) the provider's tokens must carry; required with --oidc-issuer")
		fs.StringVar(&o.oidcCA, "oidc-ca", "", `PEM file of the CA that signed the provider's TLS certificate ("" = the system's roots)`)
		fs.StringVar(&o.oidcDomain, "oidc-domain", "", `domain given to the provider's users (oVirt's profile, e.g. "internal")`)
		o.gw.flags(fs)
	}, 0, 0); err != nil {
		return err
	}
	if err := o.gw.check(e); err != nil {
		return err
	}
	if o.externalURL != "" {
		u, err := url.Parse(o.externalURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return usageError("--external-url must be https://host[:port]")
		}
		o.externalURL = "https://" + u.Host
	}
	if o.logFlush < 0 {
		return usageError("--log-flush must not be negative")
	}
	if o.drain < 0 {
		return usageError("--drain must not be negative")
	}
	var balancers []netip.Prefix
	for _, c := range o.proxyProtocol {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return usageError("--proxy-protocol %s: not a CIDR", c)
		}
		balancers = append(balancers, p.Masked())
	}
	if (o.oidcIssuer == "") != (o.oidcAudience == "") || o.oidcIssuer == "" && (o.oidcCA != "" || o.oidcDomain != "") {
		return usageError("--oidc-issuer and --oidc-audience go together (and --oidc-ca, --oidc-domain need them)")
	}
	if o.oidcIssuer != "" {
		if u, err := url.Parse(o.oidcIssuer); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.User != nil {
			return usageError("--oidc-issuer must be https://host[:port][/path]")
		}
	}
	// One write per batch, not per request: at gateway rates a write per
	// audit line cost more than authentication.
	logOut := logbuf.New(e.stderr, o.logFlush)
	defer logOut.Close()
	logger := auditLogger(o.logFormat, logOut)
	if logger == nil {
		return usageError("--log must be text or json")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if e.stop != nil {
		go func() {
			select {
			case <-e.stop:
				stop()
			case <-ctx.Done():
			}
		}()
	}
	e.serving = true
	if os.Getenv("GOGC") == "" {
		// Collect when the heap has grown to five times what is live, not
		// twice: an authenticated request allocates a few hundred bytes,
		// and at GOGC=100 the collector took an eighth of the server's CPU
		// under load (docs/operations.md, "Memory").
		debug.SetGCPercent(serveGCPercent)
	}
	s, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	key, err := e.tokenKey()
	if err != nil {
		return err
	}
	ca, madeCA, err := e.loadOrInitCA(true, mtls.CAOptions{})
	if err != nil {
		return err
	}
	if madeCA {
		fmt.Fprintf(e.stderr, "gatehouse: created the cluster CA in %s\n", e.caDir())
	}
	serverCert, err := e.serverCertificate(ca)
	if err != nil {
		return err
	}

	var demo *demoSecrets
	rules := []auth.Rule{{}}
	if rerr := s.Ready(); rerr != nil {
		// PostgreSQL is down: serve 503 (and /readyz says why) until it
		// answers; the policy is read then.
		fmt.Fprintf(e.stderr, "gatehouse: the database does not answer (%v): serving 503 until it does%s\n", rerr,
			map[bool]string{true: "; --demo ignored", false: ""}[o.demo])
	} else {
		if o.demo {
			if demo, err = e.makeDemo(ctx, s, ca, key); err != nil {
				return err
			}
		}
		if rules, err = s.Rules(ctx); err != nil {
			return err
		}
	}
	if len(rules) == 0 {
		return errors.New("the policy table is empty, so every request would be refused; add a rule first " +
			"(gatehouse policy add --priority 1 --subject '*' --rule allow) or start with --demo on a new data directory")
	}

	stores := preset.From(s)
	if e.redis != "" {
		r, err := redisstore.Open(ctx, redisURL(e.redis), "gatehouse:")
		if err != nil {
			// Redis holds sessions, nonces and counters only: serve what
			// can be served, and the rest once it answers (/readyz says 503
			// meanwhile).
			var cerr error
			if r, cerr = redisstore.Connect(redisURL(e.redis), "gatehouse:"); cerr != nil {
				return fmt.Errorf("redis %s: %w", e.redis, cerr)
			}
			fmt.Fprintf(e.stderr, "gatehouse: Redis at %s does not answer (%v): serving anyway; sessions, OAuth 1 and uncached password logins get 503 until it does\n", e.redis, err)
		}
		stores.Sessions, stores.Nonces, stores.Counter = r, r, r
	}
	popts := preset.Options{Env: auth.Env{Audit: logger, AllowInsecure: o.insecure}, TokenHashKey: key, CA: ca,
		AllowEncodedSeparators: o.gw.encodedSeparators, ExternalURL: o.externalURL}
	var m *metrics.Metrics
	if o.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		// The process's own health next to gatehouse's: goroutines, heap,
		// resident memory, open files.
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		m = metrics.New(reg)
		popts.Env.Observe = m.Observe
		if e.redis == "" { // sessions live in the database
			m.ActiveSessions(func() (int, error) { return countSessions(s) })
		}
	}
	if o.oidcIssuer != "" {
		v, err := o.oidcVerifier()
		if err != nil {
			return err
		}
		popts.Verifiers = append(popts.Verifiers, v)
	}
	p := preset.New(stores, popts)
	api := sampleAPI(p)
	if o.gw.upstream != nil {
		api = o.gw.proxy(logger, m)
		fmt.Fprintf(e.stdout, "gatehouse: gateway to %s\n", o.gw.upstream.Redacted())
	}
	faces := newReferenceHandler(p, ca, m, api, o.gw.otherPaths(p, api))
	if o.gw.trustProxies {
		faces = o.gw.proxies(ca).Handler(faces)
	}
	var verify http.Handler
	if o.gw.forwardAuth {
		allow := o.gw.allow()
		verify = o.gw.verifier(ca, newReferenceHandler(p, ca, m, allow, o.gw.otherPaths(p, allow)))
	}
	var draining atomic.Bool
	ready := readiness(s, stores.Counter)
	handler := withHealth(withForwardAuth(faces, verify), func(ctx context.Context) error {
		if draining.Load() {
			return errDraining
		}
		return ready(ctx)
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig: mtls.ServerTLSConfig(serverCert, ca.Pool(), tls.VerifyClientCertIfGiven)}
	if o.gw.upstream != nil { // streams and websockets may last: only the headers are timed
		srv.ReadTimeout, srv.WriteTimeout = 0, 0
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if len(balancers) > 0 {
		ln = &proxyproto.Listener{Listener: ln, Trusted: balancers}
	}
	_, httpsPort, _ := net.SplitHostPort(ln.Addr().String())
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	if o.httpAddr != "" {
		hln, err := net.Listen("tcp", o.httpAddr)
		if err != nil {
			_ = srv.Close()
			return err
		}
		plain := http.NewServeMux()
		plain.Handle("GET /healthz", handler)
		plain.Handle("GET /readyz", handler)
		plain.Handle("GET "+xcatCAPath, xcatCAFile(ca))
		plain.Handle("GET /ca.crt", p.CA())
		plain.Handle("GET "+preset.OVirtPKIPath, mtls.PKIResource{CA: ca.Cert})
		switch {
		case o.insecure:
			plain.Handle("/", handler)
		case o.externalURL != "":
			plain.Handle("/", auth.RedirectHTTPS(o.externalURL))
		default:
			plain.Handle("/", auth.RedirectHTTPS(httpsPort))
		}
		// Proxies on the same host ask forward-auth over plain HTTP.
		hsrv := &http.Server{Handler: withForwardAuth(plain, verify), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes, ReadTimeout: srv.ReadTimeout, WriteTimeout: srv.WriteTimeout, IdleTimeout: idleTimeout}
		servers = append(servers, hsrv)
		go func() { errc <- hsrv.Serve(hln) }()
		if o.insecure {
			fmt.Fprintf(e.stdout, "gatehouse: serving http://%s WITHOUT TLS (--allow-insecure: credentials cross the network in the clear)\n", hln.Addr())
		} else {
			fmt.Fprintf(e.stdout, "gatehouse: http://%s redirects to HTTPS\n", hln.Addr())
		}
	}
	if m != nil {
		mln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			for _, x := range servers {
				_ = x.Close()
			}
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: readTimeout, WriteTimeout: writeTimeout}
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
		fmt.Fprintf(e.stdout, "gatehouse: metrics at http://%s/metrics\n", mln.Addr())
	}
	base := "https://" + ln.Addr().String()
	if verify != nil {
		fmt.Fprintf(e.stdout, "gatehouse: forward-auth at /auth/nginx (nginx), /auth/traefik (Traefik, Caddy), /auth/envoy (Envoy) and %s (any one) on every listener\n", forwardAuthPath)
	}
	fmt.Fprintf(e.stdout, "gatehouse: serving %s (CA: %s)\n", base, filepath.Join(e.caDir(), "cluster.crt"))
	if demo != nil {
		demo.print(e, base)
		if err := demo.writeEnv(e, base); err != nil {
			return err
		}
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			for _, x := range servers {
				_ = x.Close()
			}
			return err
		}
	}
	if o.drain > 0 {
		// Rolling restarts: /readyz fails at once, and everything else is
		// served as before until the load balancer has noticed; keep-alive
		// connections are closed after their next answer, so clients come
		// back through the balancer to another replica.
		draining.Store(true)
		for _, x := range servers {
			x.SetKeepAlivesEnabled(false)
		}
		fmt.Fprintf(e.stderr, "gatehouse: draining for %s (/readyz answers 503)\n", o.drain)
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		select {
		case <-time.After(o.drain):
		case <-again:
		}
		signal.Stop(again)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, x := range servers {
		_ = x.Shutdown(shutdown)
	}
	_ = p.Tokens().Flush(shutdown) // last-used times
	_ = logOut.Close()
	fmt.Fprintln(e.stderr, "gatehouse: stopped")
	return nil
}

// countSessions counts the unexpired sessions in the database.
func countSessions(s sqlstore.Store) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.CountSessions(ctx, time.Now())
}

// redisURL accepts host:port as well as a redis:// URL.
func redisURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "redis://" + addr
}

// readiness checks that the stores answer: the database, and the failure
// counter (Redis with --redis).
func readiness(db sqlstore.Store, counter interface {
	Failures(ctx context.Context, scope, key string) (int, time.Duration, error)
}) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := db.Ready(); err != nil {
			return storeDown{"database", err}
		}
		if err := db.DB().PingContext(ctx); err != nil {
			return storeDown{"database", err}
		}
		if _, _, err := counter.Failures(ctx, "readyz", "probe"); err != nil {
			return storeDown{"counters", err}
		}
		return nil
	}
}

// errDraining is /readyz's answer while serve drains before it stops.
var errDraining = errors.New("draining")

// storeDown says which store does not answer (for /readyz: "database" or
// "counters", Redis with --redis), never the driver's words.
type storeDown struct {
	store string
	err   error
}

func (d storeDown) Error() string { return d.store + ": " + d.err.Error() }

// withHealth answers GET /healthz (the process runs) and GET /readyz (its
// stores answer within a second; 503 with Retry-After otherwise), without
// authentication and without details an outsider could use.
func withHealth(next http.Handler, ready func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.Header().Set("Retry-After", "2")
			body := map[string]string{"status": "unavailable"}
			var down storeDown
			if errors.Is(err, errDraining) {
				body["status"] = "draining"
			} else if errors.As(err, &down) {
				body["store"] = down.store // which one, not why: no details for outsiders
			}
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	// A path test, not a mux in front of every request: a second route
	// match per proxied request showed in gateway profiles.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serverCertificate loads server.crt/server.key from the data directory,
// issuing them from ca for localhost, 127.0.0.1, ::1 and the host name on
// first start.
func (e *env) serverCertificate(ca *mtls.CA) (tls.Certificate, error) {
	crt, key := filepath.Join(e.data, "server.crt"), filepath.Join(e.data, "server.key")
	if _, err := os.Stat(crt); err == nil {
		return tls.LoadX509KeyPair(crt, key)
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	issued, err := ca.IssueServer("gatehouse", hosts, mtls.LeafOptions{})
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := issued.WriteFiles(e.data, "server"); err != nil {
		return tls.Certificate{}, err
	}
	return ca.ServerCertificate(issued), nil
}

// sampleAPI is the small API behind the faces when serve is not a
// gateway: a few of each product's read-only endpoints (Foreman's PAT API
// is the Satellite face's own).
func sampleAPI(p *preset.Presets) http.Handler {
	api := route.New()
	// The static answers are encoded once: the sample API stands for a
	// service's work, and should cost little beside gatehouse's.
	static := func(pattern string, v any) {
		body, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		body = append(body, '\n')
		api.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		})
	}
	static("GET /xcatws/nodes", map[string]any{"node01": map[string]string{"groups": "compute,all"}, "node02": map[string]string{"groups": "compute,all"}})
	static("GET /api/status", map[string]any{"result": "ok", "status": 200, "version": "gatehouse", "api_version": 2})
	static("GET /api/architectures", map[string]any{"total": 2, "subtotal": 2, "page": 1, "per_page": 20, "search": nil,
		"results": []map[string]any{{"id": 1, "name": "x86_64"}, {"id": 2, "name": "aarch64"}}})
	api.HandleFunc("GET /ovirt-engine/api", func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"product_info": map[string]any{"name": "gatehouse reference (oVirt face)", "vendor": "gatehouse"},
			"authenticated_user": map[string]string{"user_name": id.Login(), "domain": id.Domain}})
	})
	static("GET /ovirt-engine/api/vms", map[string]any{"vm": []map[string]string{{"id": "00000000-0000-0000-0000-000000000001", "name": "demo-vm", "status": "up"}}})
	static("GET /v1/configuration/containers", []any{})
	return api
}

// newReferenceHandler mounts the four faces with api behind them, other
// (when not nil) for every path outside the faces, and the unauthenticated
// CA downloads.
func newReferenceHandler(p *preset.Presets, ca *mtls.CA, m *metrics.Metrics, api, other http.Handler) http.Handler {
	mux := route.New()
	xcat, ovirt := p.XCAT(api), p.OVirt(api)
	mux.Handle(preset.XCATPrefix, xcat)
	mux.Handle(preset.SatellitePrefix, p.Satellite(api))
	mux.Handle(preset.OVirtPrefix, ovirt)
	if m != nil { // the token endpoints, counted
		mux.Handle(preset.XCATPrefix+"tokens", m.CountIssued("xcat", xcat))
		mux.Handle(preset.OVirtTokenPath, m.CountIssued("ovirt", ovirt))
	}
	mux.Handle(preset.FlockerPrefix, p.Flocker(api))
	mux.Handle(preset.SelfServicePrefix, p.SelfService())
	mux.Handle("GET "+preset.OAuthMetadataPath, p.OAuthMetadata())
	mux.Handle("GET /ca.crt", p.CA())
	mux.Handle("GET "+xcatCAPath, xcatCAFile(ca))
	if other != nil {
		mux.Handle("/", other)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// demoSecrets is what --demo made, to print once.
type demoSecrets struct {
	xcatPW, satPW, ovirtPW, pat, consumerSecret string
	certDir                                     string
}

// randomSecret is 12 random bytes in hex: nothing a shell or a URL must
// quote.
func randomSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// makeDemo fills a store without users: one user per face, a PAT, an OAuth
// 1 consumer, a client certificate and an allow-authenticated policy. On a
// store that has users it makes nothing and returns nil.
func (e *env) makeDemo(ctx context.Context, s sqlstore.Store, ca *mtls.CA, key []byte) (*demoSecrets, error) {
	users, err := s.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		fmt.Fprintf(e.stderr, "gatehouse: --demo ignored: the store already has %d users (their passwords were printed when they were made)\n", len(users))
		return nil, nil
	}
	d := &demoSecrets{xcatPW: randomSecret(), satPW: randomSecret(), ovirtPW: randomSecret(), consumerSecret: randomSecret(),
		certDir: filepath.Join(e.data, "demo")}
	for _, u := range []struct{ name, domain, pw string }{
		{"wsuser", "", d.xcatPW}, {"admin", "", d.satPW}, {"admin", preset.OVirtDomain, d.ovirtPW}, {"alice", "", ""},
	} {
		h := ""
		if u.pw != "" {
			if h, err = password.Hash(u.pw); err != nil {
				return nil, err
			}
		}
		if err := s.PutUser(ctx, stores.User{Name: u.name, Domain: u.domain, PasswordHash: h}); err != nil {
			return nil, err
		}
	}
	if err := s.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: d.consumerSecret}); err != nil {
		return nil, err
	}
	rules, err := s.Rules(ctx)
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		if err := s.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow, Comment: "demo: every authenticated user"}}); err != nil {
			return nil, err
		}
	}
	tokens := token.New(token.Config{Store: s, Users: s, HashKey: key})
	pat, err := tokens.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "demo"})
	if err != nil {
		return nil, err
	}
	d.pat = pat.Secret
	quiet := &env{stdout: io.Discard}
	if err := issueClient(ca, "alice", d.certDir, quiet); err != nil {
		return nil, err
	}
	return d, nil
}

// writeEnv writes the demo's secrets as shell variables to
// DATA/demo/env.sh (0600), which the curl lines of docs/schemes.md use:
// H, CA, DEMO, XCAT_PW, SAT_PW, PAT, OVIRT_PW, OAUTH_SECRET.
func (d *demoSecrets) writeEnv(e *env, base string) error {
	ca, err := filepath.Abs(filepath.Join(e.caDir(), "cluster.crt"))
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(d.certDir)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("# made by gatehouse serve --demo: . %s\nexport H=%s CA=%s DEMO=%s\nexport XCAT_PW=%s SAT_PW=%s PAT=%s OVIRT_PW=%s OAUTH_SECRET=%s\n",
		filepath.Join(d.certDir, "env.sh"), base, ca, dir, d.xcatPW, d.satPW, d.pat, d.ovirtPW, d.consumerSecret)
	p := filepath.Join(d.certDir, "env.sh")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nThe same as shell variables for the curl lines of docs/schemes.md: . %s\n", p)
	return nil
}

// selfCommand is how to run this program again: its path, or "go run
// ./cmd/gatehouse" when it was started by go run (whose binary is gone
// when it exits).
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, "go-build") {
		return "go run ./cmd/gatehouse"
	}
	return exe
}

// print writes the demo's credentials with a curl line per scheme.
func (d *demoSecrets) print(e *env, base string) {
	ca := filepath.Join(e.caDir(), "cluster.crt")
	c := "curl --cacert " + ca
	fmt.Fprintf(e.stdout, `
Demo users (passwords shown once; they stay valid after a restart):
  xCAT       wsuser / %[3]s
  Satellite  admin / %[4]s, personal access token %[5]s
             OAuth 1 consumer katello / %[6]s (header FOREMAN-USER: admin)
  oVirt      admin@internal / %[7]s
  Flocker    client certificate %[8]s/alice.crt (key alice.key)

xCAT:
%[2]s '%[1]s/xcatws/nodes?userName=wsuser&userPW=%[3]s'
%[2]s -X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"%[3]s"}' %[1]s/xcatws/tokens
%[2]s -H 'X-Auth-Token: TOKEN_ID_FROM_ABOVE' %[1]s/xcatws/nodes
Satellite:
%[2]s --user admin:%[4]s %[1]s/api/status
%[2]s --user admin:%[5]s %[1]s/api/architectures
%[2]s -H 'FOREMAN-USER: admin' -H "$(echo %[6]s | %[9]s --data %[10]s oauth1 sign GET %[1]s/api/architectures --consumer katello)" %[1]s/api/architectures
%[2]s --user admin:%[4]s -H 'Content-Type: application/json' --data '{"personal_access_token":{"name":"mine"}}' %[1]s/api/users/admin/personal_access_tokens
oVirt:
%[2]s --user admin@internal:%[7]s %[1]s/ovirt-engine/api
%[2]s -H 'Accept: application/json' --data 'grant_type=password&scope=ovirt-app-api&username=admin%%40internal&password=%[7]s' %[1]s/ovirt-engine/sso/oauth/token
%[2]s -H 'Authorization: Bearer ACCESS_TOKEN_FROM_ABOVE' %[1]s/ovirt-engine/api/vms
%[2]s -c jar -b jar -H 'Prefer: persistent-auth' --user admin@internal:%[7]s %[1]s/ovirt-engine/api
%[2]s -c jar -b jar -H 'Prefer: persistent-auth' %[1]s/ovirt-engine/api
curl -k '%[1]s/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA'
Flocker:
%[2]s --cert %[8]s/alice.crt --key %[8]s/alice.key %[1]s/v1/configuration/containers
Personal access tokens in a browser (sign in as any demo user): %[1]s/ui/
`, base, c, d.xcatPW, d.satPW, d.pat, d.consumerSecret, d.ovirtPW, d.certDir, selfCommand(), e.data)
}

// oidcVerifier is the verifier of --oidc-issuer's tokens; it fetches
// nothing until a token arrives, so the server starts while the provider
// is down.
func (o *serveOptions) oidcVerifier() (auth.TokenVerifier, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	if o.oidcCA != "" {
		pem, err := os.ReadFile(o.oidcCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--oidc-ca %s: no PEM certificate in it", o.oidcCA)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return oidc.New(oidc.Config{Issuer: strings.TrimSuffix(o.oidcIssuer, "/"), Audience: o.oidcAudience, Domain: o.oidcDomain,
		GroupsClaim: "groups", HTTPClient: client})
}

// xcatCAFile serves the cluster CA as a PEM file without authentication, as
// xCAT publishes its CA (ca-cert.pem).
func xcatCAFile(ca *mtls.CA) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(ca.CertPEM())
	})
}

// auditLogger is the audit log in format ("text" or "json") on w; nil for
// another format. Text is slog's, written by textlog.
func auditLogger(format string, w io.Writer) *slog.Logger {
	switch format {
	case "text":
		return slog.New(textlog.New(w))
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return nil
}

// serveGCPercent is serve's GOGC unless the environment sets one.
const serveGCPercent = 400
