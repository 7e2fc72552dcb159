// Package envx reads the fields of auth.Env the way every package of the
// module must read them alike: the clock, and whether a request arrived
// over TLS. It imports nothing of the module, so auth uses it too.
package envx

import (
	"net/http"
	"strings"
	"time"
)

// Clock returns now, or time.Now when now is nil (auth.Env.Now).
func Clock(now func() time.Time) func() time.Time {
	if now != nil {
		return now
	}
	return time.Now
}

// Secure reports whether r arrived over TLS, or, with trustForwarded
// (auth.Env.TrustForwarded), through a proxy that says it did with
// "X-Forwarded-Proto: https".
func Secure(r *http.Request, trustForwarded bool) bool {
	if r.TLS != nil {
		return true
	}
	return trustForwarded && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// CredentialsAllowed reports whether r may carry credentials: it arrived
// over TLS (see Secure), or allowInsecure (auth.Env.AllowInsecure) is set.
func CredentialsAllowed(r *http.Request, allowInsecure, trustForwarded bool) bool {
	return allowInsecure || Secure(r, trustForwarded)
}
