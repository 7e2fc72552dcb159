package token

import (
	"context"
	"errors"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// PATVerifier returns a PasswordVerifier that accepts the user's personal
// access tokens in place of the password (curl --user NAME:PAT, as Satellite
// takes them) and hands every other password to next. A PAT must belong to
// the login it is sent with. Identities it proves have Scheme auth.SchemePAT
// and Attrs["token_id"]. Errors carry the login, so the Foreman responder
// answers "Unable to authenticate user NAME".
//
// Put it above an pwcheck.Cache, never below: PAT answers are not cached, so a
// revocation bites on the next request.
func (s *Service) PATVerifier(next pwcheck.Verifier) pwcheck.Verifier {
	return patVerifier{svc: s, next: next}
}

type patVerifier struct {
	svc  *Service
	next pwcheck.Verifier
}

// HashSlots passes on the slots of the verifier behind (pwcheck.SlotsOf).
func (v patVerifier) HashSlots() *pwcheck.HashSlots { return pwcheck.SlotsOf(v.next) }

func (v patVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	if !strings.HasPrefix(pw, PrefixPAT) {
		return v.next.VerifyPassword(ctx, login, pw)
	}
	id, err := v.svc.Verify(ctx, pw, PrefixPAT, auth.SchemePAT)
	if err != nil {
		e := *auth.AsError(err)
		e.User = login
		return nil, &e
	}
	if id.Login() != login {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemePAT, User: login,
			Message: "invalid user name or password", Cause: errPATOwner}
	}
	return id, nil
}

// VerifyCached implements pwcheck.CachedVerifier: a PAT is never
// answered from a cache (it is cheap to check, and its guesses must be
// throttled); a password is, when next caches.
func (v patVerifier) VerifyCached(ctx context.Context, login, pw string) (*auth.Identity, bool, error) {
	if strings.HasPrefix(pw, PrefixPAT) {
		return nil, false, nil
	}
	if c, ok := v.next.(pwcheck.CachedVerifier); ok {
		return c.VerifyCached(ctx, login, pw)
	}
	return nil, false, nil
}

// Hashless implements pwcheck.HashlessVerifier: a PAT is checked by
// a keyed hash and one lookup, never a password hash.
func (v patVerifier) Hashless(pw string) bool { return strings.HasPrefix(pw, PrefixPAT) }

var errPATOwner = errors.New("personal access token of another user")
