// Command servemux protects Go 1.22+ ServeMux routes ("GET /api/hosts/{id}")
// with gatehouse, one policy per route: anyone authenticated may read,
// only group admins may delete, and a rule table (xCAT-style) says the
// same for paths. HTTP Basic over an in-memory store.
//
//	go run ./examples/servemux
//	curl -k --user viewer:viewer-pw https://127.0.0.1:8443/api/hosts/7                  # 200
//	curl -k --user viewer:viewer-pw -X DELETE https://127.0.0.1:8443/api/hosts/7        # 403
//	curl -k --user root:root-pw -X DELETE https://127.0.0.1:8443/api/hosts/7            # 200
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
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	flag.Parse()
	ctx := context.Background()
	store := memstore.New()
	for _, u := range []struct{ name, pw, group string }{{"viewer", "viewer-pw", "viewers"}, {"root", "root-pw", "admins"}} {
		hash, _ := password.Hash(u.pw)
		_ = store.PutUser(ctx, stores.User{Name: u.name, PasswordHash: hash, Groups: []string{u.group}})
	}
	// The rule table applies to every route: DELETE only for admins.
	_ = store.SetRules(ctx, []auth.Rule{
		{Priority: 1, Subject: "group:admins", Verdict: auth.Allow},
		{Priority: 2, Subject: "*", Methods: []string{"DELETE"}, Verdict: auth.Deny},
		{Priority: 3, Subject: "*", Path: "/api/**", Verdict: auth.Allow},
	})
	login := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: store, Counter: store})})
	protect := auth.Middleware(login, auth.Config{Policy: auth.RuleTable{Store: store}})

	mux := http.NewServeMux()
	mux.Handle("GET /api/hosts/{id}", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "{\"id\":%q}\n", r.PathValue("id"))
	})))
	mux.Handle("DELETE /api/hosts/{id}", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "{\"deleted\":%q,\"by\":%q}\n", r.PathValue("id"), id.Login())
	})))

	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "servemux-example"})
	cert, _ := ca.IssueServer("api", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
