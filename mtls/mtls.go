// Package mtls authenticates API clients by TLS client certificate, the
// Flocker way: certificates signed by the cluster CA, the identity taken from
// the CN ("user-<name>" → user <name>), the OU bound to the cluster id. It
// also holds a small CA (what flocker-ca does, as a library), TLS
// configuration helpers for servers and clients, and a CA-download handler
// shaped like oVirt's pki-resource.
//
// Certificates are verified by the TLS handshake (ServerTLSConfig): a
// certificate from another CA, an expired one or one without the clientAuth
// extended key usage never completes a handshake, let alone reaches a
// handler. The Authenticator then maps the verified certificate to an
// Identity on every request, re-checking expiry (keep-alive connections
// outlive certificates) and a deny-list of revoked serials.
package mtls

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/memo"
)

// defaultPrefix is Flocker's CN prefix for API users.
const defaultPrefix = "user-"

// Config configures the Authenticator.
type Config struct {
	// Prefix is stripped from the CN to give the user; a CN without it is
	// refused. Default defaultPrefix. Ignored when Map is set.
	Prefix string
	// Map, when set, derives the user from the verified leaf certificate
	// instead of Prefix (return an error to refuse it).
	Map func(*x509.Certificate) (user string, err error)
	// ClusterID, when set, must equal the certificate's (first) OU.
	ClusterID string
	// OrganizationsAsGroups maps the certificate's O values to groups, as
	// Kubernetes does.
	OrganizationsAsGroups bool
	// Revoked is an optional deny-list of serials, checked per request.
	Revoked stores.CertRevocations
	// Users, when set, is the user table the certificate's user must be in:
	// an unknown or disabled user is refused, however valid the
	// certificate, and the identity takes the stored user's groups (and
	// domain). Without it any certificate the CA signed is a user.
	Users stores.UserStore
	// Env is the service's shared settings (auth.Env): its clock.
	Env auth.Env
}

// authenticator maps a verified client certificate to an Identity. It
// implements auth.Authenticator; a request without a client certificate gets
// auth.ErrNoCredentials, so it can sit in a chain beside other schemes. It
// offers no challenge: a certificate is asked for by the TLS handshake.
type authenticator struct {
	cfg   Config
	facts *memo.Map[*x509.Certificate, *certFacts]
}

// New returns the Authenticator.
func New(cfg Config) auth.Authenticator {
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPrefix
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	return &authenticator{cfg: cfg, facts: memo.New[*x509.Certificate, *certFacts](maxFacts)}
}

func fail(reason auth.Reason, user, msg string) *auth.Error {
	return &auth.Error{Reason: reason, Scheme: auth.SchemeMTLS, User: user, Message: msg}
}

// maxFacts bounds the per-certificate memo; when full it starts over.
const maxFacts = 4096

// certFacts are what every request on a connection would otherwise
// compute again from the same certificate: its serial, its SHA-256, the
// identity's attributes and, when no per-request lookup changes it, the
// whole identity.
type certFacts struct {
	serial, fingerprint string
	attrs               map[string]string
	id                  *auth.Identity // nil when Config.Users or Config.Map decide per request
}

// certFacts returns leaf's facts, computed once per certificate: a
// keep-alive connection presents the same *x509.Certificate on every
// request, and the SHA-256 was a quarter of an mTLS request's cost, the
// attribute map and the identity as much again. user is the CN's user
// (Config.Map unset).
func (a *authenticator) certFacts(leaf *x509.Certificate, user string) *certFacts {
	return a.facts.Get(leaf, func() *certFacts {
		sum := sha256.Sum256(leaf.Raw)
		f := &certFacts{serial: leaf.SerialNumber.Text(16), fingerprint: hex.EncodeToString(sum[:])}
		f.attrs = map[string]string{"cert_serial": f.serial, "cert_sha256": f.fingerprint}
		if a.cfg.Users == nil && a.cfg.Map == nil {
			f.id = a.identity(leaf, user, f.attrs) // shared: an Identity is never mutated
		}
		return f
	})
}

// identity is the Identity of leaf's user before the user table is asked.
func (a *authenticator) identity(leaf *x509.Certificate, user string, attrs map[string]string) *auth.Identity {
	id := &auth.Identity{User: user, Scheme: auth.SchemeMTLS, Expires: leaf.NotAfter, Attrs: attrs}
	if a.cfg.OrganizationsAsGroups {
		id.Groups = slices.Clone(leaf.Subject.Organization)
	}
	return id
}

// Authenticate implements auth.Authenticator.
func (a *authenticator) Authenticate(r *http.Request) (*auth.Result, error) {
	if auth.Decided(r) { // another scheme won: nothing of this one's to finish
		return nil, auth.ErrNoCredentials
	}
	return auth.IdentityFunc(a.authenticate).Authenticate(r)
}

func (a *authenticator) authenticate(r *http.Request) (*auth.Identity, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, auth.ErrNoCredentials
	}
	if len(r.TLS.VerifiedChains) == 0 {
		// The TLS config requested a certificate but did not verify it.
		return nil, fail(auth.ReasonInvalid, "", "client certificate not verified against the cluster CA")
	}
	leaf := r.TLS.VerifiedChains[0][0]
	now := a.cfg.Env.Now()
	if now.After(leaf.NotAfter) {
		return nil, fail(auth.ReasonExpired, "", "client certificate expired at "+leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fail(auth.ReasonInvalid, "", "client certificate not valid yet")
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil, fail(auth.ReasonInvalid, "", "certificate is not for client authentication")
	}
	if a.cfg.ClusterID != "" {
		if ou := leaf.Subject.OrganizationalUnit; len(ou) == 0 || ou[0] != a.cfg.ClusterID {
			return nil, fail(auth.ReasonInvalid, "", "client certificate belongs to another cluster (OU)")
		}
	}
	var user string
	if a.cfg.Map != nil {
		u, err := a.cfg.Map(leaf)
		if err != nil || u == "" {
			return nil, fail(auth.ReasonInvalid, "", "client certificate maps to no user")
		}
		user = u
	} else {
		u, ok := strings.CutPrefix(leaf.Subject.CommonName, a.cfg.Prefix)
		if !ok || u == "" {
			return nil, fail(auth.ReasonInvalid, "", "client certificate CN is not "+a.cfg.Prefix+"<name>")
		}
		user = u
	}
	f := a.certFacts(leaf, user)
	if a.cfg.Revoked != nil {
		revoked, err := a.cfg.Revoked.CertRevoked(r.Context(), f.serial)
		if err != nil {
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeMTLS, Cause: err}
		}
		if revoked {
			return nil, fail(auth.ReasonRevoked, user, "client certificate revoked")
		}
	}
	if f.id != nil {
		return f.id, nil
	}
	id := a.identity(leaf, user, f.attrs)
	if a.cfg.Users != nil {
		u, err := a.cfg.Users.User(r.Context(), user)
		if err != nil && !errors.Is(err, stores.ErrNotFound) {
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeMTLS, Cause: err}
		}
		if err != nil || u.Disabled {
			return nil, fail(auth.ReasonInvalid, user, "the certificate's user is unknown or disabled")
		}
		id.User, id.Domain = u.Name, u.Domain
		id.Groups = append(slices.Clone(u.Groups), id.Groups...)
	}
	return id, nil
}

// ServerTLSConfig is a server configuration: TLS 1.2 at least (1.3 is
// preferred by Go), the cluster CA as ClientCAs, and ALPN for HTTP/2,
// HTTP/1.1 and HTTP/1.0. mode says how client certificates are asked for:
// tls.VerifyClientCertIfGiven for mTLS beside other schemes,
// tls.RequireAndVerifyClientCert for mTLS only (or tls.NoClientCert for
// none). A mode that does not verify the certificate against clusterCA
// (tls.RequestClientCert, tls.RequireAnyClientCert) is a programming
// error: it panics.
func ServerTLSConfig(serverCert tls.Certificate, clusterCA *x509.CertPool, mode tls.ClientAuthType) *tls.Config {
	switch mode {
	case tls.NoClientCert, tls.VerifyClientCertIfGiven, tls.RequireAndVerifyClientCert:
	default:
		panic("mtls: ServerTLSConfig needs a mode that verifies client certificates, not " + mode.String())
	}
	// ALPN: an HTTP/1.0 client (curl --http1.0) offers only "http/1.0",
	// and Go ends a handshake whose client offers no protocol the server
	// lists; net/http serves it as HTTP/1.x.
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert}, ClientCAs: clusterCA, ClientAuth: mode,
		NextProtos: []string{"h2", "http/1.1", "http/1.0"}}
}

// TLSCertificate pairs an issued certificate with its key for crypto/tls.
func (i *Issued) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{i.Cert.Raw}, PrivateKey: i.Key, Leaf: i.Cert}
}

// ServerCertificate is an issued server certificate for crypto/tls with the
// CA appended to the chain it sends, so that clients can fetch the CA with
// "openssl s_client -showcerts" as RHV's manual describes.
func (ca *CA) ServerCertificate(i *Issued) tls.Certificate {
	c := i.TLSCertificate()
	c.Certificate = append(c.Certificate, ca.Cert.Raw)
	return c
}

// clientTLSConfig reads cluster.crt (the CA to trust) and a client
// certificate and key (e.g. user.crt, user.key), as Flocker's clients do.
func clientTLSConfig(clusterCrt, certFile, keyFile string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(clusterCrt)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("mtls: %s holds no certificate", clusterCrt)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair}}, nil
}

// NewHTTPClient is an *http.Client over clientTLSConfig for the files
// <dir>/cluster.crt, <dir>/<name>.crt and <dir>/<name>.key.
func NewHTTPClient(dir, name string) (*http.Client, error) {
	cfg, err := clientTLSConfig(dir+"/cluster.crt", dir+"/"+name+".crt", dir+"/"+name+".key")
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return &http.Client{Transport: t}, nil
}
