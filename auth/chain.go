package auth

import (
	"errors"
	"net/http"
	"slices"
)

// Authenticator proves who a request is.
type Authenticator interface {
	// Authenticate returns ErrNoCredentials when r carries none of its
	// credentials, an error (normally an *Error) when they are present but
	// not good, or the Identity.
	Authenticate(r *http.Request) (*Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (*Identity, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Identity, error) { return f(r) }

// Challenger is implemented by an Authenticator that offers a
// WWW-Authenticate challenge (RFC 9110 §11.6.1), e.g. `Basic realm="api"`.
type Challenger interface {
	Challenge() string
}

// MultiChallenger is implemented by an Authenticator that wraps others and
// offers all their challenges (session.Manager does).
type MultiChallenger interface {
	Challenges() []string
}

// Challenges lists the WWW-Authenticate challenges a offers: one per scheme of
// a Chain (in order, without duplicates), or a's own.
func Challenges(a Authenticator) []string {
	var out []string
	var walk func(Authenticator)
	walk = func(a Authenticator) {
		if c, ok := a.(*chain); ok {
			for _, inner := range c.as {
				walk(inner)
			}
			return
		}
		var offered []string
		switch c := a.(type) {
		case MultiChallenger:
			offered = c.Challenges()
		case Challenger:
			offered = []string{c.Challenge()}
		}
		for _, ch := range offered {
			if ch != "" && !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
	}
	walk(a)
	return out
}

type chain struct{ as []Authenticator }

// Chain tries authenticators in order. The first success wins. A credential
// that is present and wrong ends the chain with that error: it never falls
// through to a weaker scheme. When no authenticator finds its credential the
// chain returns ErrNoCredentials, and Middleware answers 401 with one
// WWW-Authenticate challenge per scheme (see Challenges).
func Chain(as ...Authenticator) Authenticator {
	flat := make([]Authenticator, 0, len(as))
	for _, a := range as {
		if a != nil {
			flat = append(flat, a)
		}
	}
	return &chain{as: flat}
}

func (c *chain) Authenticate(r *http.Request) (*Identity, error) {
	for _, a := range c.as {
		id, err := a.Authenticate(r)
		if err == nil {
			if id == nil {
				return nil, &Error{Reason: ReasonUnavailable, Cause: errors.New("auth: authenticator returned neither identity nor error")}
			}
			return id, nil
		}
		if !errors.Is(err, ErrNoCredentials) {
			return nil, err
		}
	}
	return nil, ErrNoCredentials
}
