// Package tokencheck is what every token transport of gatehouse does with
// a token it has taken from a request (token.XAuthToken, oauth2's Bearer):
// ask the verifier, name the scheme, and refuse a certificate-bound token
// on a connection without its certificate.
package tokencheck

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/certbind"
)

// Check is what a token transport (X-Auth-Token, Bearer) does with a token it has taken from r: ask v,
// name the identity's scheme when v left it empty, and refuse a
// certificate-bound token on a connection without its certificate. A
// token no verifier claims is refused as invalid; every refusal carries
// scheme.
func Check(r *http.Request, v auth.TokenVerifier, tok, scheme string) (*auth.Identity, error) {
	id, err := v.VerifyToken(r.Context(), tok)
	if err != nil {
		if errors.Is(err, auth.ErrNotMine) {
			return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, Message: "invalid token", Cause: err}
		}
		e := auth.AsError(err)
		if e.Scheme == "" {
			c := *e
			c.Scheme = scheme
			e = &c
		}
		return nil, e
	}
	if id == nil {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: scheme, Cause: errors.New("a token verifier returned neither identity nor error")}
	}
	if id.Scheme == "" {
		c := *id
		c.Scheme = scheme
		id = &c
	}
	if err := checkBinding(r, id, scheme); err != nil {
		return nil, err
	}
	return id, nil
}

// checkBinding refuses a certificate-bound token (RFC 8705) on a request
// whose TLS connection did not present that certificate; unbound tokens
// pass. scheme names the scheme in the error.
func checkBinding(r *http.Request, id *auth.Identity, scheme string) error {
	want := id.Attrs[certbind.Attr]
	if want == "" {
		return nil
	}
	var got string
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		got = certbind.Thumbprint(r.TLS.PeerCertificates[0])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, User: id.Login(),
			Message: "the token is bound to a client certificate this connection did not present"}
	}
	return nil
}
