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
