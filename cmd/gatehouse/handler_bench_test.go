package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/internal/logbuf"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// BenchmarkReferenceHandler is the reference server's handler in process
// (no TLS, no sockets): SQLite, the audit log as serve writes it (text,
// batched), the sample API. Each authenticated row does what the bare
// /healthz row does plus authentication, authorization, an audit record
// and the sample API's answer: the load report's gap, without the noise of
// TLS and a load generator sharing the machine.
func BenchmarkReferenceHandler(b *testing.B) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gatehouse.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	authtest.PutUser(b, s, authtest.User{Login: "wsuser", Password: "pw"})
	authtest.PutUser(b, s, authtest.User{Login: "admin@internal", Password: "pw"})
	if err := s.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}); err != nil {
		b.Fatal(err)
	}
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	out := logbuf.New(io.Discard, 100*time.Millisecond)
	defer out.Close()
	p := preset.New(preset.From(s), preset.Options{CA: ca, Env: auth.Env{Audit: auditLogger("text", out)}})
	h := withHealth(withForwardAuth(newReferenceHandler(p, ca, nil, sampleAPI(p), nil), nil), readiness(s, s))
	ws, _ := s.User(ctx, "wsuser")
	xt, _ := p.Tokens().IssueAccess(ctx, auth.UserIdentity(ws, ""), nil)
	ad, _ := s.User(ctx, "admin@internal")
	bt, _ := p.Tokens().IssueAccess(ctx, auth.UserIdentity(ad, ""), []string{preset.OVirtScope})
	authtest.PutUser(b, s, authtest.User{Login: "alice", Password: "pw"})
	alice, err := ca.IssueClient("alice", mtls.LeafOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// What the handshake leaves on every request of a verified connection.
	verified := &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{alice.Cert},
		VerifiedChains: [][]*x509.Certificate{{alice.Cert, ca.Cert}}}
	for _, c := range []struct {
		name, path, header, value string
		tls                       *tls.ConnectionState
	}{
		{"bare-healthz", "/healthz", "", "", nil},
		{"x-auth-token", "/xcatws/nodes", "X-Auth-Token", xt.Secret, nil},
		{"bearer", "/ovirt-engine/api/vms", "Authorization", "Bearer " + bt.Secret, nil},
		{"cached-basic", "/xcatws/nodes", "Authorization", "Basic d3N1c2VyOnB3", nil},
		{"client-cert", "/v1/configuration/containers", "", "", verified},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "https://gatehouse.example"+c.path, nil)
				if c.header != "" {
					req.Header.Set(c.header, c.value)
				}
				if c.tls != nil {
					req.TLS = c.tls
				}
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", c.name, rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
