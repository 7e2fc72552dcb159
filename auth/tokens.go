package auth

import (
	"context"
	"errors"
)

// TokenVerifier checks a token a client presents (an opaque access token,
// a JWT, a personal access token, anything a service issues), whatever
// carries it: a transport (a Bearer header, X-Auth-Token, the Basic
// password) takes the token from the request and asks a TokenVerifier.
//
// VerifyToken returns ErrNotMine when the token is not of its kind (wrong
// prefix, another issuer): Union then asks the next verifier. Any other
// error means the token is its kind but bad (normally an *Error: expired,
// revoked, forged) and ends the search. The Identity's Scheme may be left
// empty; the transport then names it.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (*Identity, error)
}

// ErrNotMine is a TokenVerifier's answer to a token of another kind.
var ErrNotMine = errors.New("auth: not this verifier's token")

// TokenVerifierFunc adapts a function to TokenVerifier.
type TokenVerifierFunc func(ctx context.Context, token string) (*Identity, error)

// VerifyToken calls f(ctx, token).
func (f TokenVerifierFunc) VerifyToken(ctx context.Context, token string) (*Identity, error) {
	return f(ctx, token)
}

// Union is a TokenVerifier that asks vs in turn: the first that does not
// answer ErrNotMine decides. When every one says ErrNotMine, so does the
// union. The order matters only for speed: a token is one verifier's at
// most, and a verifier that claims it and finds it bad ends the search,
// so a forged token never falls through to a laxer verifier.
func Union(vs ...TokenVerifier) TokenVerifier {
	flat := make(union, 0, len(vs))
	for _, v := range vs {
		switch v := v.(type) {
		case nil:
		case union:
			flat = append(flat, v...)
		default:
			flat = append(flat, v)
		}
	}
	if len(flat) == 1 {
		return flat[0]
	}
	return flat
}

type union []TokenVerifier

func (u union) VerifyToken(ctx context.Context, token string) (*Identity, error) {
	for _, v := range u {
		id, err := v.VerifyToken(ctx, token)
		if errors.Is(err, ErrNotMine) {
			continue
		}
		if err == nil && id == nil {
			return nil, errNoResult
		}
		return id, err
	}
	return nil, ErrNotMine
}
