package mtls_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// BenchmarkIdentity is the identity extraction for a request on an
// established connection: the connection state comes from a real handshake.
func BenchmarkIdentity(b *testing.B) {
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "bench"})
	server, _ := ca.IssueServer("control-service", []string{"127.0.0.1"}, mtls.LeafOptions{})
	user, _ := ca.IssueClient("alice", mtls.LeafOptions{})
	var state *tls.ConnectionState
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { state = r.TLS }))
	srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), tls.RequireAndVerifyClientCert)
	srv.StartTLS()
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{user.TLSCertificate()}}}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()

	a := mtls.New(mtls.Config{ClusterID: ca.ClusterID, Revoked: memstore.New()})
	req := httptest.NewRequest("GET", "https://x/", nil)
	req.TLS = state
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(req); err != nil {
			b.Fatal(err)
		}
	}
}
