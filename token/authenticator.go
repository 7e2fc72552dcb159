package token

import (
	"context"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/tokencheck"
)

// AccessTokens is the TokenVerifier of the service's access tokens: its
// opaque ones (PrefixAccess) and, when Config.JWT is set, JWTs that carry
// its issuer. Every other token is not its (auth.ErrNotMine), so it joins
// other verifiers in an auth.Union. The identities it proves leave Scheme
// empty for the transport to name.
func (s *Service) AccessTokens() auth.TokenVerifier { return kindVerifier{s, PrefixAccess} }

// PATs is the TokenVerifier of the service's personal access tokens
// (PrefixPAT), normally taken in the Basic password's place (see
// pwcheck.AcceptTokens) as Satellite takes them.
func (s *Service) PATs() auth.TokenVerifier { return kindVerifier{s, PrefixPAT} }

type kindVerifier struct {
	svc    *Service
	prefix string
}

func (v kindVerifier) VerifyToken(ctx context.Context, tok string) (*auth.Identity, error) {
	if !strings.HasPrefix(tok, v.prefix) && !v.ownJWT(tok) {
		return nil, auth.ErrNotMine
	}
	return v.svc.Verify(ctx, tok, v.prefix, "")
}

// ownJWT reports whether tok is a JWT naming this service's issuer (its
// signature is checked later, by Verify).
func (v kindVerifier) ownJWT(tok string) bool {
	j := v.svc.cfg.JWT
	if j == nil || v.prefix != PrefixAccess || strings.Count(tok, ".") != 2 {
		return false
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		return false
	}
	return c.Issuer == j.issuer
}

// XAuthToken is the transport of tokens sent as "X-Auth-Token: <token>"
// (xCAT): it takes the header and asks v (normally the service's
// AccessTokens, or an auth.Union of them and other verifiers). Identities
// without a Scheme get auth.SchemeToken. A certificate-bound token (RFC
// 8705) is refused on a connection without its certificate.
func XAuthToken(v auth.TokenVerifier) auth.Authenticator {
	return xAuthToken{v}
}

type xAuthToken struct{ v auth.TokenVerifier }

// Authenticate implements auth.Authenticator.
func (a xAuthToken) Authenticate(r *http.Request) (*auth.Result, error) {
	if auth.Decided(r) { // another scheme won: nothing of this one's to finish
		return nil, auth.ErrNoCredentials
	}
	xs := r.Header.Values("X-Auth-Token")
	switch {
	case len(xs) == 0:
		return nil, auth.ErrNoCredentials
	case len(xs) > 1:
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "more than one X-Auth-Token header"}
	case strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer "):
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "send the token either as X-Auth-Token or as a Bearer token, not both"}
	}
	if err := auth.RefusePlainHTTP(r); err != nil {
		return nil, err
	}
	tok := strings.TrimSpace(xs[0])
	if tok == "" {
		return nil, &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: "empty token"}
	}
	id, err := tokencheck.Check(r, a.v, tok, auth.SchemeToken)
	if err != nil {
		return nil, err
	}
	return &auth.Result{Identity: id}, nil
}
