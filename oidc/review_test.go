package oidc_test

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The tests in this file are attacks an outside review of session 9's
// changes found; each failed before its fix. Their comments say what the
// attack did then.

// A provider token bound to a client certificate (RFC 8705 §3.1: cnf with
// x5t#S256; Keycloak issues these with "OAuth 2.0 Mutual TLS Certificate
// Bound Access Tokens") is accepted on a connection that presents no
// certificate at all: the binding is ignored.
func TestReviewOIDCCertificateBindingIgnored(t *testing.T) {
	s := newSetup(t)
	now := s.clock.Now()
	bound := sign(t, s.p, s.k1, "k1", now, jwt.MapClaims{
		"cnf": map[string]string{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"},
	})
	rec := s.call(bound) // httptest request: r.TLS == nil, no client certificate
	t.Logf("certificate-bound provider token without the certificate: %d %q", rec.Code, rec.Body.String())
	if rec.Code == 200 {
		t.Errorf("a certificate-bound (cnf x5t#S256) token was accepted without its certificate")
	}
}
