package oauth2

import (
	"encoding/json"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// Error codes of RFC 6749 §5.2.
const (
	codeInvalidRequest       = "invalid_request"
	codeInvalidClient        = "invalid_client"
	codeInvalidGrant         = "invalid_grant"
	codeUnauthorizedClient   = "unauthorized_client"
	codeUnsupportedGrantType = "unsupported_grant_type"
	codeInvalidScope         = "invalid_scope"
)

// errf is a token-endpoint error (RFC 6749 §5.2) as an *auth.Error: the
// code in Code, the description in Message, the status the RFC gives it
// (400; 401 for invalid_client).
func errf(code, desc string) *auth.Error {
	e := &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemeOAuth2, Code: code, Message: desc}
	switch code {
	case codeInvalidClient:
		e.HTTPStatus = http.StatusUnauthorized
	case codeInvalidRequest:
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

// errorResponder renders an *auth.Error in the token endpoint's JSON (RFC 6749
// §5.2, with CodeField when set): error from Code (temporarily_unavailable for a
// 503, invalid_request for any other error without one), the description
// from the message, no caching, Retry-After on 429 and 503.
type errorResponder struct {
	// CodeField, when set, names a member that repeats the error code.
	CodeField string
	// BasicChallenge adds a Basic challenge to a 401 (the client sent
	// Basic client credentials).
	BasicChallenge bool
}

// Error implements auth.Responder.
func (rs errorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	e := auth.AsError(err)
	code := e.Code
	switch {
	case code != "":
	case e.Reason == auth.ReasonUnavailable:
		code = "temporarily_unavailable"
	default:
		code = codeInvalidRequest
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
	body := map[string]string{"error": code, "error_description": e.Text()}
	if rs.CodeField != "" && body[rs.CodeField] == "" {
		body[rs.CodeField] = code
	}
	_ = json.NewEncoder(w).Encode(body)
}
