package auth

import (
	"encoding/json"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"net/http"
)

// Responder writes the response for a failed request. err is normally an
// *Error (see AsError); the Responder picks the status from it and renders the
// body in its dialect. Every dialect uses the same status codes: 400, 401,
// 403, 429 or 503 as Reason.Status says.
type Responder interface {
	Error(w http.ResponseWriter, r *http.Request, err error)
}

// ResponderFunc adapts a function to Responder.
type ResponderFunc func(w http.ResponseWriter, r *http.Request, err error)

// Error calls f.
func (f ResponderFunc) Error(w http.ResponseWriter, r *http.Request, err error) { f(w, r, err) }

// writeHeaders sets the headers every dialect shares: Retry-After on 429
// and 503 (see RetryAfterHeader) and no caching of an authentication
// failure.
func writeHeaders(w http.ResponseWriter, e *Error, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	if v := httpx.RetryAfterHeader(e.Status(), e.RetryAfter); v != "" {
		h.Set("Retry-After", v)
	}
}

func writeJSON(w http.ResponseWriter, e *Error, contentType string, body any) {
	writeHeaders(w, e, contentType)
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(body)
}

// Problem renders RFC 9457 problem details (application/problem+json):
// type "about:blank", title the status text, status, detail the failure's
// message, and the extension members "reason" and, when known, "scheme".
type Problem struct{}

// ProblemDetails is the JSON body Problem writes.
type ProblemDetails struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Reason Reason `json:"reason"`
	Scheme string `json:"scheme,omitempty"`
}

// Error implements Responder.
func (Problem) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	writeJSON(w, e, "application/problem+json", ProblemDetails{
		Type: "about:blank", Title: http.StatusText(e.Status()), Status: e.Status(),
		Detail: e.Text(), Reason: e.Reason, Scheme: e.Scheme,
	})
}

// XCAT renders xCAT's REST API error body, {"error":"…","errorcode":"…"},
// with errorcode a string as xCAT sends it. Authentication failures read
// "Authentication failure" with errorcode "2", as xCAT answers them. Unlike
// xCAT, which answers a policy denial with 401, a denial here is 403.
type XCAT struct{}

// XCATError is the JSON body XCAT writes.
type XCATError struct {
	Error     string `json:"error"`
	ErrorCode string `json:"errorcode"`
}

// Error implements Responder.
func (XCAT) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	body := XCATError{Error: "Authentication failure", ErrorCode: "2"}
	switch e.Status() {
	case http.StatusForbidden:
		body = XCATError{Error: "Authorization failure: " + e.Text(), ErrorCode: "1"}
	case http.StatusBadRequest:
		body = XCATError{Error: "Authentication failure: " + e.Text(), ErrorCode: "2"}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		body = XCATError{Error: e.Text(), ErrorCode: "1"}
	}
	writeJSON(w, e, "application/json", body)
}

// Foreman renders Foreman's (Satellite's) API error body,
// {"error":{"message":"…"}}: "Unable to authenticate user NAME" on 401,
// Foreman's "Too many tries, please try again in a few minutes." on 429, and
// the failure's text otherwise.
type Foreman struct{}

// ForemanError is the JSON body Foreman writes.
type ForemanError struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Error implements Responder.
func (Foreman) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	var body ForemanError
	switch status := e.Status(); {
	case status == http.StatusUnauthorized && e.User == "" && e.Scheme == SchemeOAuth1:
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
	writeJSON(w, e, "application/json; charset=utf-8", body)
}
