package authtest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/gatehouse/gatehouse/mtls"
)

// Conn is the connection ServeRaw delivers a request on: plain HTTP (the
// zero value), TLS, or TLS with a verified client certificate.
type Conn struct {
	TLS bool
	// ClientChain, when set, is the client certificate's verified chain,
	// leaf first, as the TLS handshake left it (it implies TLS).
	ClientChain []*x509.Certificate
	// RemoteAddr is the client's address; empty means 192.0.2.1:40000.
	RemoteAddr string
}

// ServeRaw reads raw as one HTTP/1.1 request, the way a server reads it off
// the wire (http.ReadRequest), and serves it on h over conn. It returns nil
// when raw is not a request that net/http would hand to a handler (the
// server answers those itself). It is the core of a fuzz test of a service
// behind gatehouse: feed it the fuzzer's bytes and check the recorder.
func ServeRaw(h http.Handler, raw []byte, conn Conn) *httptest.ResponseRecorder {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil
	}
	req.RemoteAddr = conn.RemoteAddr
	if req.RemoteAddr == "" {
		req.RemoteAddr = "192.0.2.1:40000"
	}
	if conn.TLS || len(conn.ClientChain) > 0 {
		req.TLS = &tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13, ServerName: req.Host}
		if len(conn.ClientChain) > 0 {
			req.TLS.PeerCertificates = conn.ClientChain
			req.TLS.VerifiedChains = [][]*x509.Certificate{conn.ClientChain}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// ClientCertConn is a TLS connection with a client certificate for
// CertUser from the fixture's CA, issued once per fixture.
func (f *Fixture) ClientCertConn() Conn {
	f.certOnce.Do(func() {
		leaf, err := f.CA.IssueClient(CertUser, mtls.LeafOptions{})
		if err != nil {
			f.tb.Fatal(err)
		}
		f.certChain = []*x509.Certificate{leaf.Cert, f.CA.Cert}
	})
	return Conn{TLS: true, ClientChain: f.certChain}
}

// certState is the fixture's client certificate chain (ClientCertConn).
type certState struct {
	certOnce  sync.Once
	certChain []*x509.Certificate
}
