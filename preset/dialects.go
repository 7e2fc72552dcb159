package preset

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// XCATDialect returns the responder that renders xCAT's REST API error body,
// {"error":"…","errorcode":"…"}, with errorcode a string as xCAT sends it.
// Authentication failures read "Authentication failure" with errorcode
// "2", as xCAT answers them. Unlike xCAT, which answers a policy denial
// with 401, a denial here is 403. It is an auth.Responder, for a chain of
// one's own that answers as xCAT does (auth.Config.Responder).
func XCATDialect() auth.Responder { return xcatDialect{} }

// xcatDialect is XCATDialect's responder.
type xcatDialect struct{}

// xcatError is the JSON body xcatDialect writes.
type xcatError struct {
	Error     string `json:"error"`
	ErrorCode string `json:"errorcode"`
}

// Error implements auth.Responder.
func (xcatDialect) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := auth.AsError(err)
	body := xcatError{Error: "Authentication failure", ErrorCode: "2"}
	switch e.Status() {
	case http.StatusForbidden:
		body = xcatError{Error: "Authorization failure: " + e.Text(), ErrorCode: "1"}
	case http.StatusBadRequest:
		body = xcatError{Error: "Authentication failure: " + e.Text(), ErrorCode: "2"}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		body = xcatError{Error: e.Text(), ErrorCode: "1"}
	}
	httpx.WriteFailure(w, e.Status(), e.RetryAfter, "application/json", body)
}

// ForemanDialect returns the responder that renders Foreman's (Satellite's) API error body,
// {"error":{"message":"…"}}: "Unable to authenticate user NAME" on 401,
// Foreman's "Too many tries, please try again in a few minutes." on 429,
// and the failure's text otherwise. It is an auth.Responder, for a chain
// of one's own that answers as Foreman does (auth.Config.Responder).
func ForemanDialect() auth.Responder { return foremanDialect{} }

// foremanDialect is ForemanDialect's responder.
type foremanDialect struct{}

// foremanError is the JSON body foremanDialect writes.
type foremanError struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Error implements auth.Responder.
func (foremanDialect) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := auth.AsError(err)
	var body foremanError
	switch status := e.Status(); {
	case status == http.StatusUnauthorized && e.User == "" && e.Scheme == auth.SchemeOAuth1:
		// No user was named yet: Foreman's words, then what failed (the
		// consumer, the timestamp, …) rather than a blank user name.
		body.Error.Message = "Unable to authenticate user: " + e.Text()
	case status == http.StatusUnauthorized:
		body.Error.Message = "Unable to authenticate user " + e.User
	case status == http.StatusTooManyRequests:
		body.Error.Message = "Too many tries, please try again in a few minutes."
	default:
		body.Error.Message = e.Text()
	}
	httpx.WriteFailure(w, e.Status(), e.RetryAfter, "application/json; charset=utf-8", body)
}

// foremanFailure answers status with message in Foreman's error shape, as
// the Satellite face's own refusals do.
func foremanFailure(w http.ResponseWriter, status int, message string) {
	var body foremanError
	body.Error.Message = message
	httpx.WriteFailure(w, status, 0, "application/json; charset=utf-8", body)
}
