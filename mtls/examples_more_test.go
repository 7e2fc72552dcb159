package mtls_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// Example_revoke refuses a certificate by serial on the next request,
// however valid it still is (the deny-list is read per request).
func Example_revoke() {
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "example"})
	server, _ := ca.IssueServer("api", []string{"127.0.0.1"}, mtls.LeafOptions{})
	alice, _ := ca.IssueClient("alice", mtls.LeafOptions{})
	store := memstore.New()

	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprint(w, id.User)
	})
	srv := httptest.NewUnstartedServer(auth.Middleware(mtls.New(mtls.Config{ClusterID: ca.ClusterID, Revoked: store}), auth.Config{})(who))
	srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), tls.VerifyClientCertIfGiven)
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()}}}}

	get := func() {
		resp, err := client.Get(srv.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	get()
	_ = store.RevokeCert(context.Background(), alice.Cert.SerialNumber.Text(16)) // gatehouse ca revoke SERIAL
	get()
	// Output:
	// 200 alice
	// 401 {"type":"about:blank","title":"Unauthorized","status":401,"detail":"client certificate revoked","reason":"revoked","scheme":"mtls"}
}
