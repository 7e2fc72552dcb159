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
	"crypto/tls"
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
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
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
		TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), tls.VerifyClientCertIfGiven)}
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
func demoStore() (memstore.Store, error) {
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
		if err := s.PutUser(ctx, stores.User{Name: u.name, Domain: u.domain, PasswordHash: h}); err != nil {
			return nil, err
		}
	}
	if err := s.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "katello-secret-2f6b1c"}); err != nil {
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

// newHandler mounts the four products' faces (package preset) over store;
// it returns the handler and a personal access token made for admin at
// start.
func newHandler(store memstore.Store, logger *slog.Logger, ca *mtls.CA) (http.Handler, string) {
	p := preset.New(preset.From(store), preset.Options{Env: auth.Env{Audit: logger}, CA: ca})
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"user\":%q,\"domain\":%q,\"scheme\":%q}\n", id.User, id.Domain, id.Scheme)
	})
	mux := http.NewServeMux()
	mux.Handle(preset.XCATPrefix, p.XCAT(whoami))
	mux.Handle(preset.SatellitePrefix, p.Satellite(whoami))
	mux.Handle(preset.OVirtPrefix, p.OVirt(whoami))
	mux.Handle("GET /ca.crt", p.CA())
	mux.Handle(preset.FlockerPrefix, p.Flocker(whoami))

	pat, err := p.Tokens().CreatePAT(context.Background(), token.PATSpec{Login: "admin", Name: "demo"})
	if err != nil {
		log.Fatal(err)
	}
	return mux, pat.Secret
}
