package auth

import (
	"errors"
	"net/http"
	"time"
)

// ErrNoCredentials is what an Authenticator returns when the request carries
// none of its kind of credential. Any other error means a credential was
// present and was not good.
var ErrNoCredentials = errors.New("auth: no credentials")

// Reason classifies an authentication or authorization failure. It decides
// the HTTP status and is safe to show to clients.
type Reason string

// Reasons. Each maps to one HTTP status (see Reason.Status).
const (
	ReasonMissing           Reason = "missing"            // 401: no credential at all
	ReasonMalformed         Reason = "malformed"          // 400: a credential that cannot be parsed
	ReasonInvalid           Reason = "invalid"            // 401: wrong password, unknown token or user, bad signature
	ReasonExpired           Reason = "expired"            // 401: the credential's time is over
	ReasonRevoked           Reason = "revoked"            // 401: the credential was revoked
	ReasonInsecure          Reason = "insecure"           // 403: a credential sent over plain HTTP
	ReasonForbidden         Reason = "forbidden"          // 403: authenticated, but policy denies
	ReasonInsufficientScope Reason = "insufficient_scope" // 403: the token lacks a required scope
	ReasonThrottled         Reason = "throttled"          // 429: too many failed attempts
	ReasonUnavailable       Reason = "unavailable"        // 503: a store could not answer
)

// Status is the HTTP status code that goes with the reason.
func (r Reason) Status() int {
	switch r {
	case ReasonMalformed:
		return http.StatusBadRequest
	case ReasonInsecure, ReasonForbidden, ReasonInsufficientScope:
		return http.StatusForbidden
	case ReasonThrottled:
		return http.StatusTooManyRequests
	case ReasonUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusUnauthorized
	}
}

// Error is an authentication or authorization failure. Its fields never hold
// a secret: Message is written for the client, User is the name the client
// claimed (Foreman's dialect shows it), and Cause is for logs only.
type Error struct {
	Reason     Reason
	Scheme     string        // the scheme that failed, if any
	User       string        // the claimed user name, if known
	Message    string        // client-facing explanation; defaults to one per Reason
	RetryAfter time.Duration // for ReasonThrottled
	// Challenge, when set, replaces the chain's WWW-Authenticate challenges on
	// this response (e.g. `Bearer error="invalid_token"` per RFC 6750).
	Challenge string
	// Header holds extra response headers for the failure (e.g. a
	// Set-Cookie that clears a dead session); Middleware adds them.
	Header http.Header
	// Code is a protocol's own error code, for the dialects that show one
	// (RFC 6749 §5.2's invalid_grant, …); empty otherwise.
	Code string
	// HTTPStatus, when set, overrides the Reason's status where a protocol
	// fixes another (RFC 6749 answers invalid_grant with 400, a wrong
	// method with 405).
	HTTPStatus int
	Cause      error // internal detail for logs; never rendered
}

// Error implements error.
func (e *Error) Error() string {
	s := "auth: " + string(e.Reason)
	if e.Scheme != "" {
		s += " (" + e.Scheme + ")"
	}
	return s + ": " + e.Text()
}

// Unwrap returns Cause.
func (e *Error) Unwrap() error { return e.Cause }

// Status is the HTTP status code for the failure: HTTPStatus when set, else
// the Reason's.
func (e *Error) Status() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	return e.Reason.Status()
}

// Text is the client-facing message: Message, or a default for the Reason.
func (e *Error) Text() string {
	if e.Message != "" {
		return e.Message
	}
	switch e.Reason {
	case ReasonMissing:
		return "authentication required"
	case ReasonMalformed:
		return "malformed credentials"
	case ReasonExpired:
		return "credentials expired"
	case ReasonRevoked:
		return "credentials revoked"
	case ReasonInsecure:
		return "credentials must be sent over HTTPS"
	case ReasonForbidden:
		return "access denied by policy"
	case ReasonInsufficientScope:
		return "insufficient scope"
	case ReasonThrottled:
		return "too many failed attempts, try again later"
	case ReasonUnavailable:
		return "authentication service unavailable"
	default:
		return "invalid credentials"
	}
}

// AsError turns any error from an Authenticator or Policy into an *Error:
// ErrNoCredentials becomes ReasonMissing, an *Error stays as it is, context
// any other error (a store outage, a cancelled context) becomes ReasonUnavailable (the failure is
// the server's, not the client's, and the cause is kept for the log).
func AsError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrNoCredentials):
		return &Error{Reason: ReasonMissing}
	default:
		return &Error{Reason: ReasonUnavailable, Cause: err}
	}
}
