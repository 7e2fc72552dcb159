// Package audit writes the audit log's records: one per decision, message
// "auth", with outcome, scheme, user, reason, remote, method and path (never
// the query string or a credential), and for a refusal its client-facing
// detail, code and precise cause. Identical refusals are rate-limited.
package audit

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/textlog"
)

// Success logs an allowed request to l (nil: nothing): outcome "allow", or
// "anonymous". Handlers that decide on credentials themselves (token
// endpoints) log as the middleware does.
func Success(l *slog.Logger, r *http.Request, scheme, login string, anonymous bool) {
	if l == nil {
		return
	}
	if anonymous {
		record(l, r, slog.LevelInfo, "anonymous", "", "", "", "", "", nil, 0)
		return
	}
	record(l, r, slog.LevelInfo, "allow", scheme, login, "", "", "", nil, 0)
}

// Refusal is what Failure logs of a refused request: an auth.Error's
// reason, scheme, user, code, client-facing text and cause.
type Refusal struct {
	Reason, Scheme, User, Code, Detail string
	Cause                              error
}

// Failure logs a refused request to l (nil: nothing): outcome "deny" for
// policy and scope denials, "fail" otherwise; level Error when a store
// failed, Warn else.
//
// Repeats are rate-limited, so that a flood of identical failures (the same
// outcome, scheme, user, reason, detail, cause and client address) cannot
// flood the log: the first is logged, the repeats within the next second
// are counted, and the next record of that failure carries the count as
// "repeats". A success is always logged, and so is every distinct failure.
func Failure(l *slog.Logger, r *http.Request, f Refusal) {
	if l == nil {
		return
	}
	outcome, level := "fail", slog.LevelWarn
	switch f.Reason {
	case "forbidden", "insufficient_scope":
		outcome = "deny"
	case "unavailable":
		level = slog.LevelError
	}
	cause := ""
	if f.Cause != nil {
		cause = f.Cause.Error()
	}
	repeats, log := failureLog.admit(l, outcome+"\x00"+f.Scheme+"\x00"+f.User+"\x00"+f.Reason+"\x00"+f.Detail+"\x00"+cause+"\x00"+httpx.ClientAddr(r))
	if !log {
		return
	}
	record(l, r, level, outcome, f.Scheme, f.User, f.Reason, f.Code, f.Detail, f.Cause, repeats)
}

// failureLog rate-limits identical audit failures (see Failure).
var failureLog = &repeatLimiter{window: time.Second, max: 10_000}

type repeatLimiter struct {
	window time.Duration
	max    int

	mu   sync.Mutex
	seen map[repeatKey]*repeatState
}

type repeatKey struct {
	l   *slog.Logger
	key string
}

type repeatState struct {
	logged     time.Time
	suppressed int
}

// admit reports whether a failure with key should be logged now, and how
// many identical ones were held back since it was last logged.
func (rl *repeatLimiter) admit(l *slog.Logger, key string) (repeats int, log bool) {
	now := time.Now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.seen == nil {
		rl.seen = map[repeatKey]*repeatState{}
	}
	k := repeatKey{l, key}
	st, ok := rl.seen[k]
	if ok && now.Sub(st.logged) < rl.window {
		st.suppressed++
		return 0, false
	}
	if !ok {
		if len(rl.seen) >= rl.max {
			for k, v := range rl.seen { // forget what has gone quiet
				if now.Sub(v.logged) >= rl.window && v.suppressed == 0 || len(rl.seen) >= rl.max {
					delete(rl.seen, k)
				}
			}
		}
		st = &repeatState{}
		rl.seen[k] = st
	}
	repeats, st.suppressed, st.logged = st.suppressed, 0, now
	return repeats, true
}

// record writes one record: message "auth" with outcome, scheme, user, reason,
// remote, method and path (never the query string), for a failure its
// client-facing detail and the precise cause (never a secret), and how many
// identical failures were held back before it.
func record(l *slog.Logger, r *http.Request, level slog.Level, outcome, scheme, user, reason, code, detail string, cause error, repeats int) {
	h, ctx := l.Handler(), r.Context()
	if !h.Enabled(ctx, level) {
		return
	}
	kv := [...]string{"outcome", outcome, "scheme", scheme, "user", user, "reason", reason,
		"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path}
	if code == "" && detail == "" && cause == nil && repeats == 0 {
		// Every allowed request's line: serve's text handler writes it
		// from the strings, without a Record (a third of the line's cost).
		if ok, _ := textlog.WriteStrings(h, time.Now(), level, "auth", kv[:]); ok {
			return
		}
	}
	attrs := make([]slog.Attr, 0, len(kv)/2+4)
	for i := 0; i < len(kv); i += 2 {
		attrs = append(attrs, slog.String(kv[i], kv[i+1]))
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if detail != "" {
		attrs = append(attrs, slog.String("detail", detail))
	}
	if cause != nil {
		attrs = append(attrs, slog.String("cause", cause.Error()))
	}
	if repeats > 0 {
		attrs = append(attrs, slog.Int("repeats", repeats))
	}
	// The record is made here rather than by l.LogAttrs, which asks the
	// runtime for its caller (a source position no audit line shows) at a
	// third of the line's cost.
	rec := slog.NewRecord(time.Now(), level, "auth", 0)
	rec.AddAttrs(attrs...)
	_ = h.Handle(ctx, rec)
}
