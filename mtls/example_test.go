package mtls_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mtls"
)

// Example runs a Flocker-style cluster: a CA, a control-service certificate,
// an API user certificate, and a server that takes the user from the CN.
func Example() {
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "mycluster"})
	server, _ := ca.IssueServer("control-service", []string{"127.0.0.1"}, mtls.LeafOptions{})
	alice, _ := ca.IssueClient("alice", mtls.LeafOptions{})

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s", id.User)
	})
	srv := httptest.NewUnstartedServer(auth.Middleware(mtls.New(mtls.Config{ClusterID: ca.ClusterID}), auth.Config{})(api))
	srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), tls.RequireAndVerifyClientCert)
	srv.StartTLS()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()}}}}
	resp, err := client.Get(srv.URL + "/v1/configuration/containers")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello alice
}
