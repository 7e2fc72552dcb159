// Package authlog writes the audit records of handlers that decide on
// credentials themselves (the token endpoints), as auth.Middleware does
// for every other request: an auth.Error becomes internal/audit's refusal.
package authlog

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/audit"
)

// Failure logs the refusal err (an *auth.Error, see auth.AsError) to l
// (nil: nothing).
func Failure(l *slog.Logger, r *http.Request, err error) {
	if l == nil {
		return
	}
	e := auth.AsError(err)
	audit.Failure(l, r, audit.Refusal{Reason: string(e.Reason), Scheme: e.Scheme, User: e.User, Code: e.Code, Detail: e.Text(), Cause: e.Cause})
}

// Success logs that id was allowed to l (nil: nothing).
func Success(l *slog.Logger, r *http.Request, id *auth.Identity) {
	if l != nil {
		audit.Success(l, r, id.Scheme, id.Login(), false)
	}
}
