package pwcheck

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/auth"
)

// AcceptTokens returns a Verifier that takes the tokens v claims in the
// password's place (Satellite's curl --user NAME:TOKEN, with v a token
// service's personal access tokens) and hands every other password to
// next. A token must belong to the login it is sent with. Identities it
// proves keep v's Scheme, else get auth.SchemePAT. Errors carry the login,
// so the Foreman dialect answers "Unable to authenticate user NAME".
//
// Put it above a Cache, never below: token answers are never cached, so a
// revocation bites on the next request. Under a Throttle a right token is
// never throttled (it runs no hash) and a wrong one is counted.
func AcceptTokens(v auth.TokenVerifier, next Verifier) Verifier {
	return tokenPasswords{v: v, next: next}
}

type tokenPasswords struct {
	v    auth.TokenVerifier
	next Verifier
}

var errTokenOwner = errors.New("token of another user")

// VerifyPassword implements Verifier.
func (t tokenPasswords) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	id, err := t.v.VerifyToken(ctx, pw)
	switch {
	case errors.Is(err, auth.ErrNotMine):
		return t.next.VerifyPassword(ctx, login, pw)
	case err != nil:
		e := *auth.AsError(err)
		if e.Scheme == "" {
			e.Scheme = auth.SchemePAT
		}
		e.User = login
		return nil, &e
	case id == nil:
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemePAT, User: login, Cause: errors.New("pwcheck: token verifier returned neither identity nor error")}
	case id.Login() != login:
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemePAT, User: login,
			Message: "invalid user name or password", Cause: errTokenOwner}
	}
	if id.Scheme == "" {
		c := *id
		c.Scheme = auth.SchemePAT
		id = &c
	}
	vouch(ctx) // a right token runs no hash and is never throttled
	return id, nil
}
