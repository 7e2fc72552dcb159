// Command satellite serves a toy Satellite/Foreman API with Foreman's
// authentication: HTTP Basic with the password or a personal access token,
// and 1-legged OAuth 1.0a with FOREMAN-USER — the minimal wiring of
// preset.Satellite.
//
//	go run ./examples/satellite   # then, with the printed URL and token:
//	curl -k --user admin:satellite-pw https://127.0.0.1:8443/api/status
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
	"github.com/gatehouse/gatehouse/token"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	flag.Parse()
	ctx := context.Background()
	store := memstore.New()
	hash, _ := password.Hash("satellite-pw")
	_ = store.PutUser(ctx, stores.User{Name: "admin", PasswordHash: hash})
	_ = store.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "katello-secret-2f6b1c"})
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})

	status := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"result":"ok","status":200}`)
	})
	p := preset.New(preset.From(store), preset.Options{})
	http.Handle(preset.SatellitePrefix, p.Satellite(status))
	pat, err := p.Tokens().CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "example"})
	if err != nil {
		log.Fatal(err)
	}

	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "satellite-example"})
	cert, _ := ca.IssueServer("satellite", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\npersonal access token for admin: %s\n", ln.Addr(), pat.Secret)
	srv := &http.Server{TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
