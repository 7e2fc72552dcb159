// Command quickstart is the README's quick start: Satellite's logins (HTTP
// Basic, personal access tokens, OAuth 1) in front of a handler, over one
// in-memory store, on HTTPS with a throwaway certificate. The body of main
// is the README's snippet, line for line (interop TestReadmeHeadline
// checks it and runs this file).
//
//	go run ./examples/quickstart
//	curl -k --user alice:s3cret https://127.0.0.1:8443/api/hello   # hello alice
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func main() {
	ctx := context.Background()
	store := memstore.New() // sqlstore.OpenSQLite(ctx, "gatehouse.db") keeps it on disk
	hash, _ := password.Hash("s3cret")
	_ = store.PutUser(ctx, stores.User{Name: "alice", PasswordHash: hash})
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}) // no rule, no access
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", id.User)
	})
	p := preset.New(preset.From(store), preset.Options{})       // one password pipeline, one token service
	http.Handle(preset.SatellitePrefix, p.Satellite(api))       // /api/: Basic, personal access tokens, OAuth 1
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "example"}) // credentials travel over HTTPS only
	cert, _ := ca.IssueServer("api", []string{"127.0.0.1"}, mtls.LeafOptions{})
	srv := &http.Server{Addr: "127.0.0.1:8443", TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
