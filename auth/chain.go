package auth

import (
	"errors"
	"net/http"
	"slices"
)

// Authenticator is an authentication scheme: it proves who a request is,
// and tells Middleware what it needs around that. Every scheme of this
// module implements all four methods, so a wrapper that embeds one
//
//	type logged struct{ auth.Authenticator }
//
// and overrides Authenticate keeps the plain-HTTP refusal, the challenges
// and the finishing of what it wraps (see also Wrap). A type that only
// authenticates embeds Minimal for the other three.
type Authenticator interface {
	// Authenticate returns ErrNoCredentials when r carries none of its
	// credentials, an error (normally an *Error) when they are present but
	// not good, or the Identity.
	Authenticate(r *http.Request) (*Identity, error)
	// HasCredentials reports, without checking anything, whether r carries
	// this scheme's kind of credential, wherever the scheme reads it
	// (header, query, form body): Middleware refuses those
	// over plain HTTP before they are checked. Middleware also fails
	// closed: whatever Authenticate decides over plain HTTP, other than
	// ErrNoCredentials, is refused too.
	HasCredentials(r *http.Request) bool
	// Challenges are the WWW-Authenticate challenges the scheme offers on a
	// 401 (RFC 9110 §11.6.1), e.g. `Basic realm="api"`; nil for none.
	Challenges() []string
	// Finish adjusts the request or the response once a request has been
	// authenticated and authorized, before the handler runs (strip
	// credentials from the URL, set a session cookie). It acts on
	// identities of its own Scheme (and on credentials of its own that
	// another scheme's request carried along), and returns r otherwise.
	Finish(w http.ResponseWriter, r *http.Request, id *Identity) *http.Request
}

// Minimal gives a type that only authenticates the other three methods of
// Authenticator: no credentials it can point to, no challenge, nothing to
// finish. Embed it.
type Minimal struct{}

// HasCredentials implements Authenticator: false (the plain-HTTP refusal
// still fails closed on what Authenticate decides).
func (Minimal) HasCredentials(*http.Request) bool { return false }

// Challenges implements Authenticator: none.
func (Minimal) Challenges() []string { return nil }

// Finish implements Authenticator: r unchanged.
func (Minimal) Finish(_ http.ResponseWriter, r *http.Request, _ *Identity) *http.Request { return r }

// AuthenticatorFunc adapts a function to Authenticator, with Minimal's
// other three methods.
type AuthenticatorFunc func(r *http.Request) (*Identity, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Identity, error) { return f(r) }

// HasCredentials implements Authenticator: false.
func (AuthenticatorFunc) HasCredentials(*http.Request) bool { return false }

// Challenges implements Authenticator: none.
func (AuthenticatorFunc) Challenges() []string { return nil }

// Finish implements Authenticator: r unchanged.
func (AuthenticatorFunc) Finish(_ http.ResponseWriter, r *http.Request, _ *Identity) *http.Request {
	return r
}

// Wrap returns an Authenticator that authenticates through around (which
// calls next to reach inner, before or after doing its own work: logging,
// metrics, an extra check) and forwards the other three methods to inner.
func Wrap(inner Authenticator, around func(r *http.Request, next func(*http.Request) (*Identity, error)) (*Identity, error)) Authenticator {
	return wrapped{Authenticator: inner, around: around}
}

type wrapped struct {
	Authenticator
	around func(r *http.Request, next func(*http.Request) (*Identity, error)) (*Identity, error)
}

func (w wrapped) Authenticate(r *http.Request) (*Identity, error) {
	return w.around(r, w.Authenticator.Authenticate)
}

type chain struct{ as []Authenticator }

// Chain tries authenticators in order. The first success wins. A credential
// that is present and wrong ends the chain with that error: it never falls
// through to a weaker scheme. When no authenticator finds its credential the
// chain returns ErrNoCredentials, and Middleware answers 401 with one
// WWW-Authenticate challenge per scheme (see Challenges). The chain's
// HasCredentials asks every scheme (the Authorization header always
// counts), and its Finish calls every scheme's.
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

// HasCredentials implements Authenticator.
func (c *chain) HasCredentials(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	for _, a := range c.as {
		if a.HasCredentials(r) {
			return true
		}
	}
	return false
}

// Challenges implements Authenticator: every scheme's, in order, without
// duplicates.
func (c *chain) Challenges() []string {
	var out []string
	for _, a := range c.as {
		for _, ch := range a.Challenges() {
			if ch != "" && !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
	}
	return out
}

// Finish implements Authenticator.
func (c *chain) Finish(w http.ResponseWriter, r *http.Request, id *Identity) *http.Request {
	for _, a := range c.as {
		r = a.Finish(w, r, id)
	}
	return r
}
