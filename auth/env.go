package auth

import (
	"log/slog"
	"time"
)

// Env is what every part of a service shares: whether a TLS-terminating
// proxy stands in front, whether plain HTTP may carry credentials, where
// decisions are logged and heard, and the clock. Set it once and give the
// same value to every scheme, endpoint and preset (each config has an Env
// field and no copy of these settings); the zero value is right for a
// service that terminates TLS itself.
type Env struct {
	// TrustForwarded believes "X-Forwarded-Proto: https" (and, for OAuth
	// 1's signed URL, X-Forwarded-Host) from a TLS-terminating proxy: set
	// it only when every request comes through such a proxy, since
	// clients can send the headers themselves.
	TrustForwarded bool
	// AllowInsecure accepts credentials over plain HTTP (and sends cookies
	// without Secure there). Without it, a request that arrives without
	// TLS and carries a credential is refused with 403 before the
	// credential is checked. For tests and a loopback-only development
	// server; never in production.
	AllowInsecure bool
	// Audit, when set, gets one record per decision: message "auth",
	// attributes outcome (allow, anonymous, deny, fail), scheme, user,
	// reason, remote, method and path, for a failure its detail, code and
	// cause. The query string and credentials are never logged.
	Audit *slog.Logger
	// Observe, when set, hears every decision as it is made (unlike the
	// audit log, whose repeated failures are coalesced): for metrics
	// (metrics.Metrics.Observe).
	Observe func(Decision)
	// Now is the clock of expiries, timestamps and windows; nil =
	// time.Now. Tests move it (authtest.Clock) to step past an expiry.
	Now func() time.Time
}
