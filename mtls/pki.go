package mtls

import (
	"crypto/x509"
	"net/http"

	"golang.org/x/crypto/ssh"
)

// PKIResource serves certificates without authentication the way oVirt's
// pki-resource does: ?resource=ca-certificate|engine-certificate and
// &format=X509-PEM-CA (application/x-x509-ca-cert), X509-PEM
// (application/x-x509-cert) or OPENSSH-PUBKEY (text/plain, the certificate's
// public key in authorized_keys form). A missing or unknown resource or
// format is a 400 with oVirt's messages.
type PKIResource struct {
	CA     *x509.Certificate // resource "ca-certificate"
	Engine *x509.Certificate // resource "engine-certificate" (optional)
}

// ServeHTTP implements http.Handler.
func (p PKIResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	name := q.Get("resource")
	var cert *x509.Certificate
	switch name {
	case "":
		http.Error(w, "Missing resource name", http.StatusBadRequest)
		return
	case "ca-certificate":
		cert = p.CA
	case "engine-certificate":
		cert = p.Engine
	}
	if cert == nil {
		http.Error(w, "Resource '"+name+"' is invalid", http.StatusBadRequest)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "X509-PEM-CA"
		if name != "ca-certificate" {
			format = "X509-PEM"
		}
	}
	var body []byte
	switch format {
	case "X509-PEM-CA":
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		body = certPEM(cert)
	case "X509-PEM":
		w.Header().Set("Content-Type", "application/x-x509-cert")
		body = certPEM(cert)
	case "OPENSSH-PUBKEY":
		pub, err := ssh.NewPublicKey(cert.PublicKey)
		if err != nil {
			http.Error(w, "Format '"+format+"' is invalid for this key", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		body = ssh.MarshalAuthorizedKey(pub)
	default:
		http.Error(w, "Format '"+format+"' is invalid", http.StatusBadRequest)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(body)
}
