package mtls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/store/memstore"
)

type env struct {
	ca    *mtls.CA
	srv   *httptest.Server
	store memstore.Store
	clk   *authtest.Clock
}

func newEnv(t *testing.T, mode tls.ClientAuthType, mutate func(*mtls.Config)) *env {
	t.Helper()
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "test-cluster"})
	require.NoError(t, err)
	e := &env{ca: ca, store: memstore.New(), clk: authtest.NewClock(time.Now())}
	server, err := ca.IssueServer("control-service", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	require.NoError(t, err)
	cfg := mtls.Config{ClusterID: ca.ClusterID, Revoked: e.store, OrganizationsAsGroups: true, Env: auth.Env{Now: e.clk.Now}}
	if mutate != nil {
		mutate(&cfg)
	}
	h := auth.Middleware(mtls.New(cfg), auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		io.WriteString(w, id.Scheme+":"+id.User+":"+strings.Join(id.Groups, ","))
	}))
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected here
	e.srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(server), ca.Pool(), mode)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// client presents certs[0] whatever CAs the server asks for (Go's default
// would quietly send nothing for a certificate of another CA).
func (e *env) client(certs ...tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: e.ca.Pool()}
	if len(certs) > 0 {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestHandshakesAndIdentity(t *testing.T) {
	e := newEnv(t, tls.VerifyClientCertIfGiven, nil)
	alice, err := e.ca.IssueClient("alice", mtls.LeafOptions{Organizations: []string{"ops"}})
	require.NoError(t, err)
	status, body, err := get(t, e.client(alice.TLSCertificate()), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "mtls:alice:ops", body)

	status, _, err = get(t, e.client(), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 401, status, "no certificate: no credentials, the request still completes the handshake")
}

func TestRejections(t *testing.T) {
	e := newEnv(t, tls.VerifyClientCertIfGiven, nil)
	other, err := mtls.NewCA(mtls.CAOptions{ClusterName: "other", ClusterID: e.ca.ClusterID})
	require.NoError(t, err)
	foreign, _ := other.IssueClient("alice", mtls.LeafOptions{})
	expired, _ := e.ca.IssueClient("old", mtls.LeafOptions{Now: time.Now().Add(-2 * time.Hour), Validity: time.Hour})
	serverOnly, _ := e.ca.IssueClient("srv", mtls.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	for name, c := range map[string]*mtls.Issued{"another CA": foreign, "expired": expired, "server-auth only": serverOnly} {
		_, _, err := get(t, e.client(c.TLSCertificate()), e.srv.URL)
		assert.Error(t, err, "%s must fail the handshake", name)
	}

	revoked, _ := e.ca.IssueClient("mallory", mtls.LeafOptions{})
	require.NoError(t, e.store.RevokeCert(context.Background(), revoked.Cert.SerialNumber.Text(16)))
	status, body, err := get(t, e.client(revoked.TLSCertificate()), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 401, status)
	assert.Contains(t, body, "revoked")

	wrongOU := newEnv(t, tls.VerifyClientCertIfGiven, func(c *mtls.Config) { c.ClusterID = "another-cluster" })
	bob, _ := wrongOU.ca.IssueClient("bob", mtls.LeafOptions{})
	status, body, err = get(t, wrongOU.client(bob.TLSCertificate()), wrongOU.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 401, status)
	assert.Contains(t, body, "another cluster")

	notUser, _ := e.ca.IssueServer("control-service", nil, mtls.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	status, body, _ = get(t, e.client(notUser.TLSCertificate()), e.srv.URL)
	assert.Equal(t, 401, status)
	assert.Contains(t, body, "CN is not user-")
}

func TestExpiryOnALiveConnection(t *testing.T) {
	e := newEnv(t, tls.RequireAndVerifyClientCert, nil)
	short, err := e.ca.IssueClient("brief", mtls.LeafOptions{Validity: time.Hour})
	require.NoError(t, err)
	c := e.client(short.TLSCertificate())
	status, _, err := get(t, c, e.srv.URL)
	require.NoError(t, err)
	require.Equal(t, 200, status)
	e.clk.Add(2 * time.Hour)
	status, body, err := get(t, c, e.srv.URL) // same keep-alive connection
	require.NoError(t, err)
	assert.Equal(t, 401, status)
	assert.Contains(t, body, "client certificate expired")

	_, _, err = get(t, e.client(), e.srv.URL)
	assert.Error(t, err, "Required mode refuses a handshake without a certificate")
}

func TestCertificateShapes(t *testing.T) {
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "prod", ClusterID: "7a1c6a4b-1111-4222-8333-944455556666", KeyType: "rsa-2048"})
	require.NoError(t, err)
	assert.True(t, ca.Cert.IsCA)
	assert.True(t, ca.Cert.MaxPathLenZero)
	assert.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, ca.Cert.KeyUsage)
	assert.Equal(t, "prod", ca.Cert.Subject.CommonName)
	assert.Equal(t, []string{ca.ClusterID}, ca.Cert.Subject.OrganizationalUnit)
	assert.LessOrEqual(t, ca.Cert.SerialNumber.BitLen(), 128)
	assert.Greater(t, ca.Cert.SerialNumber.BitLen(), 64)

	srv, err := ca.IssueServer("", []string{"engine.example", "192.0.2.10"}, mtls.LeafOptions{})
	require.NoError(t, err)
	assert.Equal(t, "control-service", srv.Cert.Subject.CommonName)
	assert.Equal(t, []string{"control-service", "engine.example"}, srv.Cert.DNSNames)
	assert.Equal(t, "192.0.2.10", srv.Cert.IPAddresses[0].String())
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, srv.Cert.ExtKeyUsage)

	cl, err := ca.IssueClient("alice", mtls.LeafOptions{})
	require.NoError(t, err)
	assert.Equal(t, "user-alice", cl.Cert.Subject.CommonName)
	assert.False(t, cl.Cert.IsCA)
	assert.True(t, cl.Cert.BasicConstraintsValid)
	assert.Equal(t, x509.KeyUsageDigitalSignature, cl.Cert.KeyUsage)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, cl.Cert.ExtKeyUsage)
	assert.WithinDuration(t, time.Now().Add(365*24*time.Hour), cl.Cert.NotAfter, time.Minute)
	_, err = cl.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)

	_, err = mtls.NewCA(mtls.CAOptions{ClusterName: "x", KeyType: "dsa"})
	assert.Error(t, err)
	_, err = ca.IssueClient("../etc", mtls.LeafOptions{})
	assert.Error(t, err)
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "files"})
	require.NoError(t, err)
	require.NoError(t, ca.WriteFiles(dir))
	assert.Error(t, ca.WriteFiles(dir), "never overwrite")
	user, _ := ca.IssueClient("alice", mtls.LeafOptions{})
	require.NoError(t, user.WriteFiles(dir, "alice"))
	other, _ := ca.IssueClient("alice", mtls.LeafOptions{})
	assert.Error(t, other.WriteFiles(dir, "alice"), "never overwrite")
	for name, perm := range map[string]os.FileMode{"cluster.key": 0o600, "alice.key": 0o600, "cluster.crt": 0o644, "alice.crt": 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, perm, st.Mode().Perm(), name)
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, "alice.crt"))
	assert.Equal(t, user.CertPEM(), onDisk)

	loaded, err := mtls.LoadCA(dir)
	require.NoError(t, err)
	assert.Equal(t, ca.ClusterID, loaded.ClusterID)
	bob, err := loaded.IssueClient("bob", mtls.LeafOptions{})
	require.NoError(t, err)
	_, err = bob.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "a loaded CA signs for the same root")
}

func TestClientHelperAndCurlAndOpenSSL(t *testing.T) {
	e := newEnv(t, tls.VerifyClientCertIfGiven, nil)
	dir := t.TempDir()
	require.NoError(t, e.ca.WriteFiles(dir))
	user, _ := e.ca.IssueClient("alice", mtls.LeafOptions{})
	require.NoError(t, user.WriteFiles(dir, "user"))

	c, err := mtls.NewHTTPClient(dir, "user")
	require.NoError(t, err)
	status, body, err := get(t, c, e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "mtls:alice:", body)

	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-s", "--cacert", filepath.Join(dir, "cluster.crt"), "--cert", filepath.Join(dir, "user.crt"),
			"--key", filepath.Join(dir, "user.key"), e.srv.URL).Output()
		require.NoError(t, err)
		assert.Equal(t, "mtls:alice:", string(out))
	} else {
		t.Log("curl not on PATH; skipped")
	}

	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	out, err := exec.Command(openssl, "x509", "-noout", "-subject", "-in", filepath.Join(dir, "user.crt")).Output()
	require.NoError(t, err)
	assert.Equal(t, "subject=OU = "+e.ca.ClusterID+", CN = user-alice", strings.TrimSpace(string(out)))

	// RHV's recipe: fetch the CA from the TLS handshake, keep the last certificate.
	host := strings.TrimPrefix(e.srv.URL, "https://")
	cmd := exec.Command(openssl, "s_client", "-connect", host, "-showcerts")
	cmd.Stdin = strings.NewReader("")
	out, err = cmd.Output()
	require.NoError(t, err)
	var last *pem.Block
	for rest := out; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		last = b
	}
	require.NotNil(t, last, string(out))
	assert.Equal(t, e.ca.Cert.Raw, last.Bytes, "the chain ends with the cluster CA")
}

func TestPKIResource(t *testing.T) {
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "engine"})
	engine, _ := ca.IssueServer("engine.example", nil, mtls.LeafOptions{})
	srv := httptest.NewTLSServer(mtls.PKIResource{CA: ca.Cert, Engine: engine.Cert})
	defer srv.Close()
	cases := []struct {
		query, ctype, body string
		status             int
	}{
		{"resource=ca-certificate&format=X509-PEM-CA", "application/x-x509-ca-cert", string(ca.CertPEM()), 200},
		{"resource=ca-certificate", "application/x-x509-ca-cert", string(ca.CertPEM()), 200},
		{"resource=engine-certificate&format=X509-PEM", "application/x-x509-cert", string(engine.CertPEM()), 200},
		{"resource=ca-certificate&format=OPENSSH-PUBKEY", "text/plain", "ecdsa-sha2-nistp256 ", 200},
		{"", "", "Missing resource name\n", 400},
		{"resource=nope", "", "Resource 'nope' is invalid\n", 400},
		{"resource=ca-certificate&format=DER", "", "Format 'DER' is invalid\n", 400},
	}
	for _, c := range cases {
		resp, err := srv.Client().Get(srv.URL + "/ovirt-engine/services/pki-resource?" + c.query)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, c.status, resp.StatusCode, c.query)
		if c.status == 200 {
			assert.Equal(t, c.ctype, resp.Header.Get("Content-Type"))
			assert.True(t, strings.HasPrefix(string(b), c.body), c.query)
		} else {
			assert.Equal(t, c.body, string(b))
		}
	}
}
