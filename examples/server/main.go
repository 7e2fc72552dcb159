// Command server is a runnable demonstration of gatehouse: one HTTPS listener
// that serves the API faces of xCAT, Satellite/Foreman and oVirt/RHV with
// their authentication schemes, over an in-memory store holding demo users.
// It prints the curl lines that work against it.
//
//	go run ./examples/server            # listens on https://127.0.0.1:8443
//	go run ./examples/server -addr 127.0.0.1:9443
//
// The TLS certificate comes from a cluster CA made at start (its cluster.crt
// and an API user certificate are written to a temporary directory), so use
// curl -k or --cacert.
// Demo users: wsuser/cluster-secret (xCAT), admin/satellite-pw (Satellite),
// admin@internal/ovirt-pw (oVirt); OAuth 1 consumer katello/katello-secret-2f6b1c.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	store, err := demoStore()
	if err != nil {
		log.Fatal(err)
	}
	// A Flocker-style cluster CA: it signs the server certificate and an API
	// user certificate written, with cluster.crt, to a temporary directory.
	ca, certDir, err := demoCA()
	if err != nil {
		log.Fatal(err)
	}
	handler, pat := newHandler(store, logger, ca)
	server, err := ca.IssueServer("control-service", []string{"127.0.0.1", "localhost", "::1"}, mtls.LeafOptions{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), mtls.Optional)}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	fmt.Printf(`gatehouse demo on %[1]s (certificate from a throwaway cluster CA: use curl -k, or --cacert %[3]s/cluster.crt)

xCAT:       curl -k '%[1]s/xcatws/nodes?userName=wsuser&userPW=cluster-secret'
            curl -k -X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"cluster-secret"}' %[1]s/xcatws/tokens
            curl -k -H 'X-Auth-Token: <id from above>' %[1]s/xcatws/nodes
Satellite:  curl -k --user admin:satellite-pw %[1]s/api/status
            curl -k --user admin:%[2]s %[1]s/api/status
            OAuth 1: consumer key katello, secret katello-secret-2f6b1c, header FOREMAN-USER: admin
oVirt:      curl -k --user admin@internal:ovirt-pw %[1]s/ovirt-engine/api
            curl -k -H 'Accept: application/json' --data 'grant_type=password&scope=ovirt-app-api&username=admin%%40internal&password=ovirt-pw' %[1]s/ovirt-engine/sso/oauth/token
            curl -k -H 'Authorization: Bearer <access_token from above>' %[1]s/ovirt-engine/api
            curl -k -c jar -b jar -H 'Prefer: persistent-auth' --user admin@internal:ovirt-pw %[1]s/ovirt-engine/api
            curl -k -c jar -b jar -H 'Prefer: persistent-auth' %[1]s/ovirt-engine/api
            curl -k '%[1]s/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA'
Flocker:    curl --cacert %[3]s/cluster.crt --cert %[3]s/user.crt --key %[3]s/user.key %[1]s/v1/state/nodes
`, base, pat, certDir)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// demoStore holds the demo users and an allow-all-authenticated policy.
func demoStore() (*memstore.Store, error) {
	ctx := context.Background()
	s := memstore.New()
	for _, u := range []struct{ name, domain, pw string }{
		{"wsuser", "", "cluster-secret"}, {"admin", "", "satellite-pw"}, {"admin", "internal", "ovirt-pw"},
		{"alice", "", ""}, // Flocker's certificate user: no password
	} {
		h, err := "", error(nil)
		if u.pw != "" {
			h, err = password.Hash(u.pw)
		}
		if err != nil {
			return nil, err
		}
		if err := s.PutUser(ctx, auth.User{Name: u.name, Domain: u.domain, PasswordHash: h}); err != nil {
			return nil, err
		}
	}
	if err := s.PutConsumer(ctx, auth.Consumer{Key: "katello", Secret: "katello-secret-2f6b1c"}); err != nil {
		return nil, err
	}
	return s, s.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
}

// demoCA makes a cluster CA and an API user certificate for "alice", written
// as cluster.crt, user.crt and user.key to a new temporary directory.
func demoCA() (*mtls.CA, string, error) {
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "gatehouse-demo"})
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "gatehouse-demo-")
	if err != nil {
		return nil, "", err
	}
	user, err := ca.IssueClient("alice", mtls.LeafOptions{})
	if err != nil {
		return nil, "", err
	}
	if err := user.WriteFiles(dir, "user"); err != nil {
		return nil, "", err
	}
	return ca, dir, os.WriteFile(dir+"/cluster.crt", ca.CertPEM(), 0o644)
}

// newHandler wires the four products' faces; it returns the handler and a
// personal access token made for admin at start.
func newHandler(store *memstore.Store, logger *slog.Logger, ca *mtls.CA) (http.Handler, string) {
	throttle := &auth.Throttle{Counter: store}
	passwords := basic.NewCache(auth.NewStoreVerifier(store), store, 0, 0)
	tokens := token.New(token.Config{Store: store, Users: store})
	policy := auth.WithPolicy(auth.RuleTable{Store: store})
	audit := auth.WithAudit(logger)

	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"user\":%q,\"domain\":%q,\"scheme\":%q}\n", id.User, id.Domain, id.Scheme)
	})
	mux := http.NewServeMux()

	// xCAT: tokens, X-Auth-Token, query credentials, Basic.
	xcatCfg := basic.Config{Verifier: passwords, Throttle: throttle}
	mux.Handle("/xcatws/tokens", &token.IssueHandler{Service: tokens, Verifier: passwords, Throttle: throttle, Audit: logger})
	mux.Handle("/xcatws/", auth.Middleware(auth.Chain(tokens.Authenticator("xCAT"), basic.NewQuery(xcatCfg, basic.QueryConfig{TokenURL: "/xcatws/tokens"}), basic.New(xcatCfg)),
		policy, audit, auth.WithResponder(auth.XCAT{}))(whoami))

	// Satellite: 1-legged OAuth with FOREMAN-USER, and Basic with personal
	// access tokens as the password.
	// Foreman never compares oauth_body_hash with the body, and hammer
	// (apipie-bindings) always sends the hash of an empty body: ignore it.
	signed := oauth1.New(oauth1.Config{Consumers: store, Nonces: store, Users: store, BodyHash: oauth1.BodyHashIgnore})
	satellite := auth.Chain(signed, basic.New(basic.Config{Verifier: tokens.PATVerifier(passwords), Throttle: throttle}))
	mux.Handle("/api/", auth.Middleware(satellite, policy, audit, auth.WithResponder(auth.Foreman{}))(whoami))

	// oVirt: the SSO token endpoint (password grant, scope ovirt-app-api),
	// bearer tokens, and Basic with user@domain logins.
	// A request without a scope gets ovirt-app-api (requests-oauthlib drops
	// it); errors come in oVirt's shape, which the oVirt SDKs parse.
	mux.Handle("/ovirt-engine/sso/oauth/token", oauth2.NewTokenEndpoint(oauth2.Config{Tokens: tokens, Verifier: passwords,
		Scopes: []string{"ovirt-app-api"}, RequireScope: true, DefaultScope: []string{"ovirt-app-api"},
		ErrorStyle: oauth2.OVirt, Throttle: throttle, Audit: logger}))
	ovirt := session.New(session.Config{Store: store, Users: store, Path: "/ovirt-engine/api", Tokens: tokens},
		auth.Chain(oauth2.NewBearer(oauth2.BearerConfig{Tokens: tokens, Realm: "RESTAPI"}),
			basic.New(basic.Config{Verifier: passwords, Realm: "RESTAPI", Domains: []string{"internal"}, Throttle: throttle})))
	mux.Handle("/ovirt-engine/api", auth.Middleware(ovirt, policy, audit)(whoami))
	mux.Handle("/ovirt-engine/api/", auth.Middleware(ovirt, policy, audit)(whoami))

	// oVirt publishes its CA without authentication; libgovirt fetches it
	// from /ca.crt.
	mux.Handle("/ovirt-engine/services/pki-resource", mtls.PKIResource{CA: ca.Cert})
	mux.HandleFunc("GET /ca.crt", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		_, _ = w.Write(ca.CertPEM())
	})

	// Flocker: client certificates signed by the cluster CA, user from the CN.
	mux.Handle("/v1/", auth.Middleware(mtls.New(mtls.Config{ClusterID: ca.ClusterID, Revoked: store, Users: store}), audit)(whoami))

	pat, err := tokens.CreatePAT(context.Background(), "admin", "demo", time.Time{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	return mux, pat.Secret
}
