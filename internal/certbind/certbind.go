// Package certbind computes the certificate thumbprints of RFC 8705's
// certificate-bound tokens: token binds a token to one and checks it, the
// OAuth 2 token endpoint records the one a grant was made over.
package certbind

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
)

// Attr is the Identity attribute of a certificate-bound token: the
// thumbprint of the certificate it is bound to.
const Attr = "cnf_x5t#S256"

// Thumbprint is RFC 8705's x5t#S256 of a certificate: the base64url
// (unpadded) SHA-256 of its DER form.
func Thumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// OfRequest is the thumbprint of the client certificate r's TLS handshake
// verified, or "" without one.
func OfRequest(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return Thumbprint(r.TLS.VerifiedChains[0][0])
}
