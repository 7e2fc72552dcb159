// Command xcat serves a toy xCAT REST API with xCAT's authentication:
// userName/userPW in the query, POST /xcatws/tokens for an access token,
// X-Auth-Token, and HTTP Basic — the minimal wiring of preset.XCAT.
//
//	go run ./examples/xcat        # then, with the printed URL:
//	curl -k 'https://127.0.0.1:8443/xcatws/nodes?userName=wsuser&userPW=cluster-secret'
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
	hash, _ := password.Hash("cluster-secret")
	_ = store.PutUser(ctx, stores.User{Name: "wsuser", PasswordHash: hash})
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})

	nodes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"node01":{"groups":"compute,all"}}`)
	})
	p := preset.New(preset.From(store), preset.Options{})
	http.Handle(preset.XCATPrefix, p.XCAT(nodes))

	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "xcat-example"})
	cert, _ := ca.IssueServer("xcat", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	srv := &http.Server{TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
