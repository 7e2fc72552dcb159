// Command chi protects a github.com/go-chi/chi/v5 router with gatehouse,
// with a policy per route group: the read API takes Basic, PATs and
// X-Auth-Token for any user; the admin group also requires group admins;
// a health route stays open. The identity reaches handlers through the
// request context, as with any net/http middleware.
//
//	go run ./chi                       (from examples/external)
//	curl -k --user viewer:viewer-pw https://127.0.0.1:8443/api/hosts/7          # 200
//	curl -k --user viewer:viewer-pw -X DELETE https://127.0.0.1:8443/admin/hosts/7   # 403
//	curl -k --user root:root-pw -X DELETE https://127.0.0.1:8443/admin/hosts/7       # 200
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// newRouter is the whole service: a chi router with gatehouse in front
// of two route groups.
func newRouter(store memstore.Store, tokens *token.Service) http.Handler {
	passwords := pwcheck.New(pwcheck.Config{Users: store, Counter: store})
	login := auth.Chain(token.XAuthToken(tokens.AccessTokens()), basic.New(basic.Config{Passwords: passwords, Tokens: tokens.PATs()}))
	anyUser := auth.Middleware(login, auth.Config{})
	admins := auth.Middleware(login, auth.Config{Policy: auth.PolicyFunc(func(ctx context.Context, id *auth.Identity, r *http.Request) error {
		if id.InGroup("admins") {
			return nil
		}
		return &auth.Error{Reason: auth.ReasonForbidden, Scheme: id.Scheme, User: id.Login(), Message: "admins only"}
	})})

	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	r.Group(func(r chi.Router) {
		r.Use(anyUser)
		r.Get("/api/hosts/{id}", func(w http.ResponseWriter, r *http.Request) {
			id, _ := auth.IdentityFrom(r.Context())
			fmt.Fprintf(w, "{\"id\":%q,\"user\":%q}\n", chi.URLParam(r, "id"), id.Login())
		})
	})
	r.Route("/admin", func(r chi.Router) {
		r.Use(admins)
		r.Delete("/hosts/{id}", func(w http.ResponseWriter, r *http.Request) {
			id, _ := auth.IdentityFrom(r.Context())
			fmt.Fprintf(w, "{\"deleted\":%q,\"by\":%q}\n", chi.URLParam(r, "id"), id.Login())
		})
	})
	return r
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	flag.Parse()
	ctx := context.Background()
	store := memstore.New()
	for _, u := range []struct{ name, pw, group string }{{"viewer", "viewer-pw", "viewers"}, {"root", "root-pw", "admins"}} {
		hash, err := password.Hash(u.pw)
		if err != nil {
			log.Fatal(err)
		}
		if err := store.PutUser(ctx, stores.User{Name: u.name, PasswordHash: hash, Groups: []string{u.group}}); err != nil {
			log.Fatal(err)
		}
	}
	tokens := token.New(token.Config{Store: store, Users: store})
	pat, err := tokens.CreatePAT(ctx, token.PATSpec{Login: "viewer", Name: "chi-example"})
	if err != nil {
		log.Fatal(err)
	}

	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "chi-example"})
	if err != nil {
		log.Fatal(err)
	}
	cert, err := ca.IssueServer("api", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	fmt.Printf("personal access token of viewer: %s\n", pat.Secret)
	srv := &http.Server{Handler: newRouter(store, tokens), TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
