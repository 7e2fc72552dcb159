// Command proxy puts gatehouse in front of an existing HTTP service it
// cannot change: Satellite's schemes (Basic with a password or PAT, OAuth 1
// with FOREMAN-USER) are checked here, the credentials are removed, and
// the upstream gets the identity in X-Gatehouse-User / X-Gatehouse-Scheme
// (any such header from the client is dropped first).
//
//	go run ./examples/proxy -upstream http://127.0.0.1:9000
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
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTPS listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:9000", "the service to protect")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	store := memstore.New()
	hash, _ := password.Hash("satellite-pw")
	_ = store.PutUser(ctx, stores.User{Name: "admin", PasswordHash: hash})
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})

	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			id, _ := auth.IdentityFrom(pr.In.Context())
			for _, h := range []string{"Authorization", "X-Auth-Token", "Cookie", "Foreman-User", "X-Gatehouse-User", "X-Gatehouse-Scheme"} {
				pr.Out.Header.Del(h)
			}
			pr.Out.Header.Set("X-Gatehouse-User", id.Login())
			pr.Out.Header.Set("X-Gatehouse-Scheme", id.Scheme)
		},
		Transport: &http.Transport{ResponseHeaderTimeout: 30 * time.Second},
	}
	p := preset.New(preset.From(store), preset.Options{})
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "proxy-example"})
	cert, _ := ca.IssueServer("proxy", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	srv := &http.Server{Handler: p.Satellite(proxy), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: mtls.ServerTLSConfig(ca.ServerCertificate(cert), nil, tls.VerifyClientCertIfGiven)}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
