package mtls_test

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
)

// Attack: mtls ignored the user table, so a disabled user's certificate
// (or one for a user who was never created) was still accepted.
func TestCertificateOfDisabledUserRefused(t *testing.T) {
	var e *env
	e = newEnv(t, tls.VerifyClientCertIfGiven, func(c *mtls.Config) { c.Users = lateUsers(func() *env { return e }) })
	ctx := context.Background()
	require.NoError(t, e.store.PutUser(ctx, stores.User{Name: "alice", Groups: []string{"admins"}}))
	alice, err := e.ca.IssueClient("alice", mtls.LeafOptions{Organizations: []string{"ops"}})
	require.NoError(t, err)
	ghost, err := e.ca.IssueClient("ghost", mtls.LeafOptions{})
	require.NoError(t, err)

	status, body, err := get(t, e.client(alice.TLSCertificate()), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "mtls:alice:admins,ops", body, "stored groups, then the certificate's O")

	require.NoError(t, e.store.PutUser(ctx, stores.User{Name: "alice", Disabled: true}))
	status, _, err = get(t, e.client(alice.TLSCertificate()), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 401, status, "disabled user")
	status, _, err = get(t, e.client(ghost.TLSCertificate()), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 401, status, "unknown user")
}

// lateUsers reads the env's store, which newEnv makes together with the
// config that needs it.
type lateUsers func() *env

func (l lateUsers) User(ctx context.Context, login string) (*stores.User, error) {
	return l().store.User(ctx, login)
}

// Attack: the serial printed by "openssl x509 -serial" (upper-case hex,
// maybe a leading zero) failed to revoke, silently.
func TestRevokeSerialAsOpenSSLPrintsIt(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("openssl not installed")
		}
		t.Skip("openssl not installed")
	}
	e := newEnv(t, tls.VerifyClientCertIfGiven, nil)
	mallory, err := e.ca.IssueClient("mallory", mtls.LeafOptions{})
	require.NoError(t, err)
	certFile := filepath.Join(t.TempDir(), "mallory.crt")
	require.NoError(t, os.WriteFile(certFile, mallory.CertPEM(), 0o600))
	out, err := exec.Command(openssl, "x509", "-in", certFile, "-noout", "-serial").Output()
	require.NoError(t, err)
	printed := strings.TrimSpace(string(out)) // "serial=0A1B…"
	require.True(t, strings.HasPrefix(printed, "serial="), printed)

	require.NoError(t, e.store.RevokeCert(context.Background(), printed))
	status, body, err := get(t, e.client(mallory.TLSCertificate()), e.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 401, status, body)
	assert.Contains(t, body, "revoked")
	assert.Error(t, e.store.RevokeCert(context.Background(), "serial=not-hex"), "a serial that does not parse is refused, not silently kept")
}
