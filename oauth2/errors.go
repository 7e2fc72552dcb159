package oauth2

import (
	"encoding/json"
	"net/http"
	"time"

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

// Error is a token-endpoint error (RFC 6749 §5.2).
type Error struct {
	Code        string
	Description string
	// Status overrides the default (400; 401 for invalid_client).
	Status     int
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string { return "oauth2: " + e.Code + ": " + e.Description }

func errf(code, desc string) *Error { return &Error{Code: code, Description: desc} }

func (e *Error) status() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == InvalidClient:
		return http.StatusUnauthorized
	default:
		return http.StatusBadRequest
	}
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

func writeError(w http.ResponseWriter, style ErrorStyle, e *Error, basicChallenge bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.status() == http.StatusUnauthorized && basicChallenge {
		h.Set("WWW-Authenticate", `Basic realm="oauth2", charset="UTF-8"`)
	}
	if v := auth.RetryAfterHeader(e.status(), e.RetryAfter); v != "" {
		h.Set("Retry-After", v)
	}
	w.WriteHeader(e.status())
	var body any = map[string]string{"error": e.Code, "error_description": e.Description}
	if style == OVirt {
		// ovirt-engine-sdk-python up to 4.1.7 reads error_code, later ones
		// and libgovirt read error as the message; RFC clients read
		// error_description.
		body = map[string]string{"error_code": e.Code, "error": e.Description, "error_description": e.Description}
	}
	_ = json.NewEncoder(w).Encode(body)
}
