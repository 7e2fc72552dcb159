package auth

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Responder writes the response for a failed request. err is normally an
// *Error (see AsError); the Responder picks the status from it and renders the
// body in its dialect. Every dialect uses the same status codes: 400, 401,
// 403, 429 or 503 as Reason.Status says.
type Responder interface {
	Error(w http.ResponseWriter, r *http.Request, err error)
}

func writeJSON(w http.ResponseWriter, e *Error, contentType string, body any) {
	httpx.WriteFailure(w, e.Status(), e.RetryAfter, contentType, body)
}

// problem renders RFC 9457 problem details (application/problem+json):
// type "about:blank", title the status text, status, detail the failure's
// message, and the extension members "reason" and, when known, "scheme".
// It is the Middleware's Responder when Config.Responder is nil.
type problem struct{}

// Error implements Responder.
func (problem) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	writeJSON(w, e, "application/problem+json", httpx.Problem{
		Type: "about:blank", Title: http.StatusText(e.Status()), Status: e.Status(),
		Detail: e.Text(), Reason: string(e.Reason), Scheme: e.Scheme,
	})
}
