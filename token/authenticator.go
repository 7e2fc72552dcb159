package token

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// Authenticator accepts access tokens sent as "X-Auth-Token: <token>" (xCAT)
// or "Authorization: Bearer <token>". It implements auth.Authenticator,
// auth.Authenticator. Personal access tokens are not accepted
// here: they are Basic passwords (see Service.PATVerifier).
type Authenticator struct {
	svc       *Service
	challenge string
}

// Authenticator returns the access-token authenticator; realm goes into its
// Bearer challenge ("" = "gatehouse").
func (s *Service) Authenticator(realm string) *Authenticator {
	if realm == "" {
		realm = "gatehouse"
	}
	return &Authenticator{svc: s, challenge: "Bearer realm=" + strconv.Quote(realm)}
}

// Challenges implements auth.Authenticator.
func (a *Authenticator) Challenges() []string { return []string{a.challenge} }

// Finish implements auth.Authenticator: nothing to do.
func (a *Authenticator) Finish(_ http.ResponseWriter, r *http.Request, _ *auth.Identity) *http.Request {
	return r
}

// HasCredentials implements auth.Authenticator.
func (a *Authenticator) HasCredentials(r *http.Request) bool {
	_, ok := bearer(r)
	return ok || r.Header.Get("X-Auth-Token") != ""
}

// bearer returns the token of "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(v[7:]), true
}

// Authenticate implements auth.Authenticator.
func (a *Authenticator) Authenticate(r *http.Request) (*auth.Identity, error) {
	tok, ok := bearer(r)
	xs := r.Header.Values("X-Auth-Token")
	switch {
	case ok && len(xs) > 0:
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "send the token either as X-Auth-Token or as a Bearer token, not both"}
	case len(xs) > 1:
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "more than one X-Auth-Token header"}
	case len(xs) == 1:
		tok = strings.TrimSpace(xs[0])
	case !ok:
		return nil, auth.ErrNoCredentials
	}
	if tok == "" {
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "empty token"}
	}
	return a.svc.Verify(r.Context(), tok, PrefixAccess, auth.SchemeToken)
}
