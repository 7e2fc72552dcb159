package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/envx"
)

// Config configures Middleware; the zero value authenticates every request,
// allows every authenticated one and answers failures as RFC 9457
// problems.
type Config struct {
	// Policy authorizes every request after authentication; nil allows
	// every authenticated request.
	Policy Policy
	// Responder renders failures; nil = RFC 9457 problem details
	// (application/problem+json) with the extension members "reason" and
	// "scheme".
	Responder Responder
	// Env is the service's shared settings: TLS proxy, plain-HTTP policy,
	// audit log, observer, clock.
	Env Env
	// Optional lets requests without any credential through with no
	// Identity in their context (subject to the policy, which sees a nil
	// Identity). A credential that is present and wrong is still refused.
	Optional bool
	// Name names this middleware in what Env.Observe hears
	// (Decision.Name): a preset says its face ("xcat", "ovirt", …).
	Name string
	// AllowEncodedSeparators accepts %2F, %5C and %00 inside a path
	// segment, which the Middleware refuses (400) by default. Policy rules then see
	// such a segment as one, so set it only for an upstream that does not
	// decode them into separators either.
	AllowEncodedSeparators bool
}

// Decision is what Env.Observe hears: the outcome ("allow",
// "anonymous", "deny" or "fail"), the scheme and reason (empty on success),
// and how long authentication and authorization took. It carries no user
// name, credential or address.
type Decision struct {
	Name     string // Config.Name
	Outcome  string
	Scheme   string
	Reason   Reason
	Duration time.Duration
}

// Middleware returns net/http middleware that authenticates each request with
// a, authorizes it with the policy (if any), puts the Identity into the
// request context (see IdentityFrom) and calls the wrapped handler.
//
// Failures never reach the wrapped handler: no credential (and not Optional)
// → 401 with one WWW-Authenticate challenge per scheme of a; a bad credential
// → the *Error's status (400/401/429/503); a policy denial → 403, or 401 when
// the request is anonymous; a credential over plain HTTP → 403 (see
// Env.AllowInsecure); more than one Authorization header, a path that
// cannot be judged safely (dot segments, "//", too many segments, encoded separators, path
// parameters), or a method override header (X-HTTP-Method-Override, …) that
// names another method than the request's → 400.
//
// The plain-HTTP refusal comes first: an Authorization header over plain
// HTTP is refused before any scheme sees it, and every other credential
// as soon as its scheme finds it (RefusePlainHTTP). It fails closed: if a
// still finds a credential (an authenticator that does not ask), the
// request is refused all the same, whatever a decided.
func Middleware(a Authenticator, cfg Config) func(http.Handler) http.Handler {
	c := config{policy: cfg.Policy, responder: cfg.Responder, audit: cfg.Env.Audit, optional: cfg.Optional,
		env: cfg.Env, observe: cfg.Env.Observe, name: cfg.Name, separators: cfg.AllowEncodedSeparators}
	if c.responder == nil {
		c.responder = problem{}
	}
	challenges := ChallengesOf(a)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var start time.Time // only read with Observe
			if c.observe != nil {
				start = time.Now()
			}
			if len(r.Header["Authorization"]) > 1 { // the canonical key: no canonicalising per request
				c.fail(w, r, &Error{Reason: ReasonMalformed, Message: "more than one Authorization header"}, challenges, start)
				return
			}
			if err := checkPath(r, c.separators); err != nil {
				c.fail(w, r, AsError(err), challenges, start)
				return
			}
			if m, ok := methodOverride(r); ok {
				c.fail(w, r, &Error{Reason: ReasonMalformed, Message: "a method override header (" + m + ") names another method than the request's"}, challenges, start)
				return
			}
			plain := !envx.CredentialsAllowed(r, c.env.AllowInsecure, c.env.TrustForwarded)
			if plain && r.Header.Get("Authorization") != "" {
				c.fail(w, r, errInsecure(), challenges, start)
				return
			}
			st := &reqState{plain: plain}
			r = r.WithContext(withState(r.Context(), st))
			res, err := a.Authenticate(r)
			if plain && !errors.Is(err, ErrNoCredentials) {
				// Fail closed: an authenticator that does not ask
				// RefusePlainHTTP found a credential over plain HTTP. Refuse
				// whatever it decided.
				c.fail(w, r, errInsecure(), challenges, start)
				return
			}
			if err != nil && !errors.Is(err, ErrNoCredentials) {
				c.fail(w, r, AsError(err), challenges, start)
				return
			}
			var id *Identity
			if err == nil {
				if res == nil || res.Identity == nil {
					c.fail(w, r, errNoResult, challenges, start)
					return
				}
				id = res.Identity
			}
			if id == nil && !c.optional {
				c.fail(w, r, &Error{Reason: ReasonMissing}, challenges, start)
				return
			}
			if c.policy != nil {
				if err := c.policy.Authorize(r.Context(), id, r); err != nil {
					e := AsError(err)
					if id == nil && e.Reason == ReasonForbidden {
						// Anonymous and not allowed: authenticating may help.
						e = &Error{Reason: ReasonMissing, Message: e.Text()}
					}
					c.fail(w, r, e, challenges, start)
					return
				}
			}
			if id == nil {
				auditSuccess(c.audit, r, nil)
				c.observed(start, "anonymous", "", "")
				next.ServeHTTP(w, r)
				return
			}
			if c.audit != nil {
				auditSuccess(c.audit, r, id)
			}
			c.observed(start, "allow", id.Scheme, "")
			st.id = id
			if res.Finish != nil {
				if fr := res.Finish(w, r); fr != nil {
					r = fr
				}
				if stateOf(r.Context()) != st { // a Finish that replaced the context
					r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// methodOverrideHeaders are the headers with which frameworks (Rails'
// Rack::MethodOverride, many Java and .NET stacks) run a request as another
// method than the one the policy judged.
var methodOverrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// methodOverride reports a method override header that names another
// method than r's.
func methodOverride(r *http.Request) (string, bool) {
	for _, h := range methodOverrideHeaders {
		for _, v := range r.Header[h] {
			if !strings.EqualFold(strings.TrimSpace(v), r.Method) {
				return h, true
			}
		}
	}
	return "", false
}

func errInsecure() *Error {
	return &Error{Reason: ReasonInsecure, Message: "credentials sent over plain HTTP are refused; use HTTPS"}
}

// config is Config with its defaults applied.
type config struct {
	policy    Policy
	responder Responder
	audit     *slog.Logger
	optional  bool
	env       Env
	observe   func(Decision)
	name      string
	// separators: Config.AllowEncodedSeparators.
	separators bool
}

// observed reports a decision begun at start to Observe, if set.
func (c *config) observed(start time.Time, outcome, scheme string, reason Reason) {
	if c.observe != nil {
		c.observe(Decision{Name: c.name, Outcome: outcome, Scheme: scheme, Reason: reason, Duration: time.Since(start)})
	}
}

func (c *config) fail(w http.ResponseWriter, r *http.Request, e *Error, challenges []string, start time.Time) {
	auditFailure(c.audit, r, e)
	if c.observe != nil {
		outcome := "fail"
		if e.Reason == ReasonForbidden || e.Reason == ReasonInsufficientScope {
			outcome = "deny"
		}
		c.observed(start, outcome, e.Scheme, e.Reason)
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case e.Challenge != "": // e.g. RFC 6750's error="insufficient_scope" on a 403
		w.Header().Set("WWW-Authenticate", e.Challenge)
	case e.Status() == http.StatusUnauthorized:
		for _, ch := range challenges {
			w.Header().Add("WWW-Authenticate", ch)
		}
	}
	c.responder.Error(w, r, e)
}

// auditSuccess logs an allowed request (see internal/audit).
func auditSuccess(l *slog.Logger, r *http.Request, id *Identity) {
	if l == nil {
		return
	}
	if id == nil {
		audit.Success(l, r, "", "", true)
		return
	}
	audit.Success(l, r, id.Scheme, id.Login(), false)
}

// auditFailure logs a refused request (see internal/audit).
func auditFailure(l *slog.Logger, r *http.Request, e *Error) {
	if l != nil {
		audit.Failure(l, r, audit.Refusal{Reason: string(e.Reason), Scheme: e.Scheme, User: e.User, Code: e.Code, Detail: e.Text(), Cause: e.Cause})
	}
}
