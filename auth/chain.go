package auth

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/finish"
)

// Authenticator is an authentication scheme: it proves who a request is.
// It has one method, and whatever a scheme must do once its check has
// succeeded (strip credentials from the URL, set or end a session cookie,
// add a header) travels in the Result it returns. So a wrapper written as
//
//	auth.AuthenticatorFunc(func(r *http.Request) (*auth.Result, error) {
//		log.Println(r.URL.Path)
//		return inner.Authenticate(r)
//	})
//
// keeps every security behaviour of inner. Only its WWW-Authenticate
// challenges, an optional extra (Challenger), are lost; WithChallenges
// puts them back.
type Authenticator interface {
	// Authenticate returns ErrNoCredentials when r carries none of its
	// credentials, an error (normally an *Error) when they are present but
	// not good, or the Result. Over plain HTTP, a scheme that finds its
	// credential refuses it before checking it (RefusePlainHTTP).
	Authenticate(r *http.Request) (*Result, error)
}

// Result is a successful authentication: who the request is, and what
// must be done before the handler runs.
type Result struct {
	// Identity is who the request proved to be; never nil in a Result
	// that Authenticate returns.
	Identity *Identity
	// Finish, when set, runs once the request is authenticated and
	// authorized, just before the handler: it returns the request the
	// handler sees (credentials stripped from the URL) and may set
	// response headers (a session cookie). Middleware calls it; a wrapper
	// passes it on by returning the Result it got.
	Finish func(w http.ResponseWriter, r *http.Request) *http.Request
}

// Challenger is implemented by an Authenticator that invites clients to
// send its credential: Challenges are the WWW-Authenticate challenges it
// offers on a 401 (RFC 9110 §11.6.1), e.g. `Basic realm="api"`. It is
// optional: an authenticator without it only sends no challenge.
type Challenger interface {
	Challenges() []string
}

// ChallengesOf returns a's challenges when it is a Challenger, else nil.
func ChallengesOf(a Authenticator) []string {
	if c, ok := a.(Challenger); ok {
		return c.Challenges()
	}
	return nil
}

// WithChallenges returns a with the given challenges on a 401 in place of
// its own: to keep the challenges of a scheme wrapped in an
// AuthenticatorFunc, or to offer fewer than a chain would.
func WithChallenges(a Authenticator, challenges ...string) Authenticator {
	return challenging{a, challenges}
}

type challenging struct {
	Authenticator
	challenges []string
}

func (c challenging) Challenges() []string { return c.challenges }

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (*Result, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Result, error) { return f(r) }

// IdentityFunc adapts a function that proves an identity, and needs
// nothing done afterwards, to Authenticator: a header a front end sets, an
// API key. To wrap another Authenticator, use AuthenticatorFunc and return
// the Result it gives.
type IdentityFunc func(r *http.Request) (*Identity, error)

// Authenticate calls f(r) and wraps its Identity in a Result.
func (f IdentityFunc) Authenticate(r *http.Request) (*Result, error) {
	id, err := f(r)
	if err != nil || id == nil {
		return nil, err
	}
	return &Result{Identity: id}, nil
}

// RefusePlainHTTP returns the 403 for a credential sent over plain HTTP
// when Middleware has found r to be such a request (see
// Env.AllowInsecure), and nil otherwise. A scheme calls it as soon as
// it has found its credential, before checking it, so that nothing is
// spent or recorded for it (a nonce, a throttle count, a hash).
// Middleware refuses whatever a scheme decides over plain HTTP all the
// same: a scheme that does not ask fails closed.
func RefusePlainHTTP(r *http.Request) error {
	if st := stateOf(r.Context()); st != nil && st.plain {
		return errInsecure()
	}
	return nil
}

// Decided reports whether an earlier scheme of a Chain has already
// authenticated r. A Chain then asks the schemes after the winner only
// what must be done about credentials of theirs that r carries along: a
// scheme returns ErrNoCredentials without checking anything, or a Result
// without an Identity whose Finish does it (basic.Query strips its
// credentials from the URL, whichever scheme won). A scheme that does not
// ask is checked in full and only its Finish is used.
func Decided(r *http.Request) bool {
	st := stateOf(r.Context())
	return st != nil && st.decided
}

type chain struct{ as []Authenticator }

// Chain tries authenticators in order. The first success wins. A credential
// that is present and wrong ends the chain with that error: it never falls
// through to a weaker scheme. When no authenticator finds its credential the
// chain returns ErrNoCredentials, and Middleware answers 401 with one
// WWW-Authenticate challenge per scheme (the chain is a Challenger of
// every challenge of its schemes).
func Chain(as ...Authenticator) Authenticator {
	flat := make([]Authenticator, 0, len(as))
	for _, a := range as {
		if a != nil {
			flat = append(flat, a)
		}
	}
	return &chain{as: flat}
}

func (c *chain) Authenticate(r *http.Request) (*Result, error) {
	if Decided(r) { // a chain inside a chain whose earlier scheme won
		res := c.carried(r, &Result{}, c.as)
		if res.Finish == nil {
			return nil, ErrNoCredentials
		}
		return res, nil
	}
	for i, a := range c.as {
		res, err := a.Authenticate(r)
		if err == nil {
			if res == nil || res.Identity == nil {
				return nil, errNoResult
			}
			if i+1 < len(c.as) {
				st := stateOf(r.Context())
				if st == nil { // used outside Middleware
					st = &reqState{}
					r = r.WithContext(withState(r.Context(), st))
				}
				st.decided = true
				res = c.carried(r, res, c.as[i+1:])
				st.decided = false
			}
			return res, nil
		}
		if !errors.Is(err, ErrNoCredentials) {
			return nil, err
		}
	}
	return nil, ErrNoCredentials
}

// carried adds to res the finishing of credentials that the schemes in
// rest find on a request another scheme has authenticated (see Decided).
func (c *chain) carried(r *http.Request, res *Result, rest []Authenticator) *Result {
	for _, a := range rest {
		if more, err := a.Authenticate(r); err == nil && more != nil && more.Finish != nil {
			c := *res
			c.Finish = finish.Then(res.Finish, more.Finish)
			res = &c
		}
	}
	return res
}

var errNoResult = &Error{Reason: ReasonUnavailable, Cause: errors.New("auth: authenticator returned neither identity nor error")}

// Challenges implements Challenger: every scheme's, in order, without
// duplicates.
func (c *chain) Challenges() []string {
	var out []string
	for _, a := range c.as {
		for _, ch := range ChallengesOf(a) {
			if ch != "" && !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
	}
	return out
}
