package oauth2

import (
	"encoding/json"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// Error codes of RFC 6749 §5.2.
const (
	InvalidRequest       = "invalid_request"
	InvalidClient        = "invalid_client"
	InvalidGrant         = "invalid_grant"
	UnauthorizedClient   = "unauthorized_client"
	UnsupportedGrantType = "unsupported_grant_type"
	InvalidScope         = "invalid_scope"
)

// errf is a token-endpoint error (RFC 6749 §5.2) as an *auth.Error: the
// code in Code, the description in Message, the status the RFC gives it
// (400; 401 for invalid_client).
func errf(code, desc string) *auth.Error {
	e := &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemeOAuth2, Code: code, Message: desc}
	switch code {
	case InvalidClient:
		e.HTTPStatus = http.StatusUnauthorized
	case InvalidRequest:
		e.Reason = auth.ReasonMalformed
	default:
		e.HTTPStatus = http.StatusBadRequest
	}
	return e
}

// unavailable is the endpoint's 503 (a store or the hash slots could not
// answer): temporarily_unavailable, with Retry-After.
func unavailable(desc string, cause error) *auth.Error {
	return &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeOAuth2, Code: "temporarily_unavailable", Message: desc, Cause: cause}
}

// ErrorStyle selects the JSON shape of token-endpoint errors.
type ErrorStyle int

const (
	// RFC6749 is {"error":"invalid_grant","error_description":"…"}.
	RFC6749 ErrorStyle = iota
	// OVirt is oVirt SSO's shape, {"error_code":"invalid_grant","error":"…"},
	// with error_description (the same text) for RFC 6749 clients.
	OVirt
)

// Responder renders an *auth.Error in the token endpoint's JSON (RFC 6749
// §5.2, or oVirt's shape): error from Code (temporarily_unavailable for a
// 503, invalid_request for any other error without one), the description
// from the message, no caching, Retry-After on 429 and 503.
type Responder struct {
	Style ErrorStyle
	// BasicChallenge adds a Basic challenge to a 401 (the client sent
	// Basic client credentials).
	BasicChallenge bool
}

// Error implements auth.Responder.
func (rs Responder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	e := auth.AsError(err)
	code := e.Code
	switch {
	case code != "":
	case e.Reason == auth.ReasonUnavailable:
		code = "temporarily_unavailable"
	default:
		code = InvalidRequest
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.Status() == http.StatusUnauthorized && rs.BasicChallenge {
		h.Set("WWW-Authenticate", `Basic realm="oauth2", charset="UTF-8"`)
	}
	if v := httpx.RetryAfterHeader(e.Status(), e.RetryAfter); v != "" {
		h.Set("Retry-After", v)
	}
	w.WriteHeader(e.Status())
	var body any = map[string]string{"error": code, "error_description": e.Text()}
	if rs.Style == OVirt {
		// ovirt-engine-sdk-python up to 4.1.7 reads error_code, later ones
		// and libgovirt read error as the message; RFC clients read
		// error_description.
		body = map[string]string{"error_code": code, "error": e.Text(), "error_description": e.Text()}
	}
	_ = json.NewEncoder(w).Encode(body)
}
