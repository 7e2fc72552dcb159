package token

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// Authenticator accepts access tokens sent as "X-Auth-Token: <token>"
// (xCAT). It implements auth.Authenticator. Bearer tokens are oauth2.Bearer's
// (one reader per header, with RFC 6750's challenges); put both in a chain
// to take both, as the xCAT preset does. Personal access tokens are not
// accepted here: they are Basic passwords (see Service.PATVerifier).
type Authenticator struct {
	svc *Service
}

// Authenticator returns the X-Auth-Token authenticator.
func (s *Service) Authenticator() *Authenticator { return &Authenticator{svc: s} }

// Challenges implements auth.Authenticator: none (X-Auth-Token has no
// WWW-Authenticate challenge; oauth2.Bearer offers Bearer's).
func (a *Authenticator) Challenges() []string { return nil }

// Finish implements auth.Authenticator: nothing to do.
func (a *Authenticator) Finish(_ http.ResponseWriter, r *http.Request, _ *auth.Identity) *http.Request {
	return r
}

// HasCredentials implements auth.Authenticator.
func (a *Authenticator) HasCredentials(r *http.Request) bool {
	return r.Header.Get("X-Auth-Token") != ""
}

// Authenticate implements auth.Authenticator.
func (a *Authenticator) Authenticate(r *http.Request) (*auth.Identity, error) {
	xs := r.Header.Values("X-Auth-Token")
	switch {
	case len(xs) == 0:
		return nil, auth.ErrNoCredentials
	case len(xs) > 1:
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "more than one X-Auth-Token header"}
	case strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer "):
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "send the token either as X-Auth-Token or as a Bearer token, not both"}
	}
	tok := strings.TrimSpace(xs[0])
	if tok == "" {
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "empty token"}
	}
	id, err := a.svc.Verify(r.Context(), tok, PrefixAccess, auth.SchemeToken)
	if err != nil {
		return nil, err
	}
	if err := CheckBinding(r, id, auth.SchemeToken); err != nil {
		return nil, err
	}
	return id, nil
}
