// Command flocker serves a toy Flocker control-service API that accepts
// only client certificates of its cluster CA (CN user-<name>) — the
// minimal wiring of preset.Flocker. It writes cluster.crt and a client
// certificate for alice (alice.crt, alice.key) to -certs.
//
//	go run ./examples/flocker -certs /tmp/flocker   # then:
//	curl --cacert /tmp/flocker/cluster.crt --cert /tmp/flocker/alice.crt --key /tmp/flocker/alice.key https://127.0.0.1:8443/v1/configuration/containers
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	certs := flag.String("certs", "flocker-certs", "directory for cluster.crt, alice.crt and alice.key (must not hold them yet)")
	flag.Parse()
	ctx := context.Background()
	store := memstore.New()
	_ = store.PutUser(ctx, stores.User{Name: "alice"}) // certificates only: no password
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})

	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "flocker-example"})
	if err != nil {
		log.Fatal(err)
	}
	alice, _ := ca.IssueClient("alice", mtls.LeafOptions{})
	if err := os.MkdirAll(*certs, 0o700); err != nil {
		log.Fatal(err)
	}
	if err := alice.WriteFiles(*certs, "alice"); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*certs, "cluster.crt"), ca.CertPEM(), 0o644); err != nil {
		log.Fatal(err)
	}

	containers := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "[]") })
	p := preset.New(preset.From(store), preset.Options{CA: ca})
	http.Handle(preset.FlockerPrefix, p.Flocker(containers))

	cert, _ := ca.IssueServer("control-service", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	srv := &http.Server{TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), ca.Pool(), tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
