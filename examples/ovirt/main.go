// Command ovirt serves a toy oVirt/RHV API with oVirt's authentication:
// the SSO token endpoint (password grant, scope ovirt-app-api), bearer
// tokens, Basic with user@internal and persistent-auth sessions — the
// minimal wiring of preset.OVirt.
//
//	go run ./examples/ovirt       # then, with the printed URL:
//	curl -k --user admin@internal:ovirt-pw https://127.0.0.1:8443/ovirt-engine/api
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	flag.Parse()
	ctx := context.Background()
	store := memstore.New()
	hash, _ := password.Hash("ovirt-pw")
	_ = store.PutUser(ctx, stores.User{Name: "admin", Domain: preset.OVirtDomain, PasswordHash: hash})
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})

	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "ovirt-example"})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"product_info":{"name":"oVirt example"}}`)
	})
	p := preset.New(preset.From(store), preset.Options{CA: ca})
	http.Handle(preset.OVirtPrefix, p.OVirt(api))
	http.Handle("GET /ca.crt", p.CA())

	cert, _ := ca.IssueServer("engine", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	srv := &http.Server{TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
