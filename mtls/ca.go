package mtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Default validity periods. Flocker gives every certificate 20 years, which
// leaves revocation as the only defence against a leaked key. Shorter
// lives bound that exposure: a year for leaf certificates (re-issuing is one
// CLI call), ten years for the cluster CA (replacing it means re-issuing
// everything).
const (
	defaultCAValidity   = 10 * 365 * 24 * time.Hour
	defaultLeafValidity = 365 * 24 * time.Hour
)

// keyType selects the key algorithm of a new key.
type keyType string

// Key types.
const (
	keyECDSAP256 keyType = "ecdsa-p256" // the default
	keyRSA2048   keyType = "rsa-2048"
	keyRSA3072   keyType = "rsa-3072"
	keyRSA4096   keyType = "rsa-4096"
)

func newKey(kt keyType) (crypto.Signer, error) {
	switch kt {
	case "", keyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case keyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case keyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case keyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("mtls: key type %q: want %s, %s, %s or %s", kt, keyECDSAP256, keyRSA2048, keyRSA3072, keyRSA4096)
}

// newSerial is 128 random bits, never zero.
func newSerial() (*big.Int, error) {
	for {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
		if err != nil {
			return nil, err
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(der) // RFC 5280 §4.2.1.2 method 1 style; an identifier, not a security property
	return sum[:], nil
}

// CA is a cluster certificate authority, what flocker-ca manages.
type CA struct {
	Cert      *x509.Certificate
	Key       crypto.Signer
	ClusterID string // the CA's OU; issued client certificates carry it
}

// CAOptions describe a new cluster CA.
type CAOptions struct {
	ClusterName string // the CA's CN; required
	ClusterID   string // the CA's OU; a random UUID when empty
	// KeyType is the key algorithm: "ecdsa-p256" (the default),
	// "rsa-2048", "rsa-3072" or "rsa-4096".
	KeyType  keyType
	Validity time.Duration // default ten years
	Now      time.Time     // default time.Now()
}

// NewCA initialises a cluster CA: CN the cluster name, OU the cluster id,
// basicConstraints CA:TRUE pathlen:0, keyUsage keyCertSign and cRLSign.
func NewCA(o CAOptions) (*CA, error) {
	if strings.TrimSpace(o.ClusterName) == "" {
		return nil, errors.New("mtls: a CA needs a cluster name")
	}
	if o.ClusterID == "" {
		o.ClusterID = newUUID()
	}
	if o.Validity <= 0 {
		o.Validity = defaultCAValidity
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	key, err := newKey(o.KeyType)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.ClusterName, OrganizationalUnit: []string{o.ClusterID}},
		NotBefore:    o.Now.Add(-5 * time.Minute), NotAfter: o.Now.Add(o.Validity),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, ClusterID: o.ClusterID}, nil
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Issued is a certificate the CA made, with its new key.
type Issued struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// CertPEM is the certificate in PEM.
func (i *Issued) CertPEM() []byte { return certPEM(i.Cert) }

// KeyPEM is the private key in PKCS #8 PEM.
func (i *Issued) KeyPEM() ([]byte, error) { return keyPEM(i.Key) }

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LeafOptions describe a server or client certificate.
type LeafOptions struct {
	// KeyType is the key algorithm, as CAOptions.KeyType.
	KeyType  keyType
	Validity time.Duration // default one year, never past the CA's own end
	Now      time.Time     // default time.Now()
	// Organizations go into O (mapped to groups by Authenticator when
	// OrganizationsAsGroups is set).
	Organizations []string
	// ExtKeyUsage replaces the default extended key usage (tests use it to
	// make a wrong certificate).
	ExtKeyUsage []x509.ExtKeyUsage
}

func (ca *CA) issue(subject pkix.Name, dns []string, ips []net.IP, eku []x509.ExtKeyUsage, o LeafOptions) (*Issued, error) {
	if o.Validity <= 0 {
		o.Validity = defaultLeafValidity
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ExtKeyUsage != nil {
		eku = o.ExtKeyUsage
	}
	key, err := newKey(o.KeyType)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := o.Now.Add(o.Validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := key.(*rsa.PrivateKey); isRSA && slices.Contains(eku, x509.ExtKeyUsageServerAuth) {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject,
		NotBefore: o.Now.Add(-5 * time.Minute), NotAfter: notAfter,
		BasicConstraintsValid: true, IsCA: false,
		KeyUsage: usage, ExtKeyUsage: eku,
		DNSNames: dns, IPAddresses: ips,
		SubjectKeyId: ski, AuthorityKeyId: ca.Cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Issued{Cert: cert, Key: key}, nil
}

// IssueServer makes a server certificate, Flocker's control-service way: CN
// cn (default "control-service"), SAN DNS:cn plus hosts (each a DNS name or
// an IP address), extended key usage serverAuth.
func (ca *CA) IssueServer(cn string, hosts []string, o LeafOptions) (*Issued, error) {
	if cn == "" {
		cn = "control-service"
	}
	dns := []string{cn}
	var ips []net.IP
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" && h != cn {
			dns = append(dns, h)
		}
	}
	return ca.issue(pkix.Name{CommonName: cn, OrganizationalUnit: []string{ca.ClusterID}}, dns, ips,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, o)
}

// IssueClient makes an API client certificate for name: CN user-<name>, OU
// the cluster id, extended key usage clientAuth, CA:FALSE, key usage
// digitalSignature (Flocker's own client certificates lack the last two).
func (ca *CA) IssueClient(name string, o LeafOptions) (*Issued, error) {
	if name == "" || strings.ContainsAny(name, "/\\\x00") {
		return nil, errors.New("mtls: a client certificate needs a name without slashes")
	}
	return ca.issue(pkix.Name{CommonName: defaultPrefix + name, OrganizationalUnit: []string{ca.ClusterID}, Organization: o.Organizations},
		nil, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, o)
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return certPEM(ca.Cert) }

// Pool is a pool holding just the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// writeNew writes data to path only if no file is there, with perm.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("mtls: %s exists; refusing to overwrite it", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteFiles writes the CA as cluster.crt (0644) and cluster.key (0600) in
// dir, as flocker-ca does. Existing files are never overwritten.
func (ca *CA) WriteFiles(dir string) error {
	return writePair(dir, "cluster", ca.Cert, ca.Key)
}

// WriteFiles writes the certificate as <name>.crt (0644) and its key as
// <name>.key (0600) in dir. Existing files are never overwritten.
func (i *Issued) WriteFiles(dir, name string) error {
	return writePair(dir, name, i.Cert, i.Key)
}

func writePair(dir, name string, cert *x509.Certificate, key crypto.Signer) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return fmt.Errorf("mtls: bad file name %q", name)
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	crt, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	for _, p := range []string{crt, keyPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("mtls: %s exists; refusing to overwrite it", p)
		}
	}
	if err := writeNew(keyPath, kp, 0o600); err != nil {
		return err
	}
	if err := writeNew(crt, certPEM(cert), 0o644); err != nil {
		_ = os.Remove(keyPath)
		return err
	}
	return nil
}

// LoadCA reads cluster.crt and cluster.key from dir.
func LoadCA(dir string) (*CA, error) {
	cert, err := readCert(filepath.Join(dir, "cluster.crt"))
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("mtls: cluster.crt is not a CA certificate")
	}
	key, err := readKey(filepath.Join(dir, "cluster.key"))
	if err != nil {
		return nil, err
	}
	id := ""
	if len(cert.Subject.OrganizationalUnit) > 0 {
		id = cert.Subject.OrganizationalUnit[0]
	}
	return &CA{Cert: cert, Key: key, ClusterID: id}, nil
}

func readCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("mtls: %s holds no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(path string) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("mtls: %s holds no PEM key", path)
	}
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("mtls: %s: unsupported key type %s", path, block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("mtls: %s: not a signing key", path)
	}
	return s, nil
}
