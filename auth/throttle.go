package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// FailureCounter counts failed attempts per (scope, key) in fixed windows:
// the first failure of a key opens a window of the given length; the count
// resets when it ends. Scopes are "user" and "addr". memstore implements it
// for one process, redisstore for many.
type FailureCounter interface {
	// AddFailure records a failure and returns the count in the current
	// window and when that window ends.
	AddFailure(ctx context.Context, scope, key string, window time.Duration) (count int, resetAt time.Time, err error)
	// Failures returns the count in the current window and when it ends.
	Failures(ctx context.Context, scope, key string) (count int, resetAt time.Time, err error)
	// ResetFailures forgets the key.
	ResetFailures(ctx context.Context, scope, key string) error
}

// Throttle limits failed attempts per user and per client address. Once a
// key has reached its limit in the window, further attempts for it are
// refused with 429 and Retry-After until the window ends, without checking
// the credential. A user's counter is reset by a successful login; an
// address's is not. Other users and other addresses are never slowed.
//
// The trade-off of a per-user limit: whoever can reach the server can lock a
// known user out for a window. Set MaxPerUser to 0 to rely on the address
// limit alone.
type Throttle struct {
	Counter    FailureCounter
	Window     time.Duration // default 5 minutes
	MaxPerAddr int           // default 30 (Foreman's figure); negative = no limit
	MaxPerUser int           // default 10; negative = no limit
	Now        func() time.Time
}

func (t *Throttle) window() time.Duration {
	if t.Window <= 0 {
		return 5 * time.Minute
	}
	return t.Window
}

func limitOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (t *Throttle) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

type throttleKey struct {
	scope, key string
	limit      int
}

// keys are the counters that apply to an attempt: empty keys and disabled
// limits are left out (limit < 0).
func (t *Throttle) keys(user, addr string) [2]throttleKey {
	ks := [2]throttleKey{{"addr", addr, limitOr(t.MaxPerAddr, 30)}, {"user", user, limitOr(t.MaxPerUser, 10)}}
	for i := range ks {
		if ks[i].key == "" {
			ks[i].limit = -1
		}
	}
	return ks
}

// Check returns a ReasonThrottled *Error when user or addr has used up its
// failures, nil otherwise. A nil Throttle allows everything. A counter that
// fails is reported as ReasonUnavailable.
func (t *Throttle) Check(ctx context.Context, scheme, user, addr string) error {
	if t == nil || t.Counter == nil {
		return nil
	}
	for _, k := range t.keys(user, addr) {
		if k.limit < 0 {
			continue
		}
		n, reset, err := t.Counter.Failures(ctx, k.scope, k.key)
		if err != nil {
			return &Error{Reason: ReasonUnavailable, Scheme: scheme, User: user, Cause: fmt.Errorf("auth: throttle counter: %w", err)}
		}
		if n >= k.limit {
			wait := reset.Sub(t.now())
			if wait <= 0 {
				continue
			}
			return &Error{Reason: ReasonThrottled, Scheme: scheme, User: user, RetryAfter: wait}
		}
	}
	return nil
}

// Failed records a failed attempt for user and addr.
func (t *Throttle) Failed(ctx context.Context, user, addr string) {
	if t == nil || t.Counter == nil {
		return
	}
	for _, k := range t.keys(user, addr) {
		if k.limit >= 0 {
			_, _, _ = t.Counter.AddFailure(ctx, k.scope, k.key, t.window())
		}
	}
}

// Succeeded resets user's counter after a successful login.
func (t *Throttle) Succeeded(ctx context.Context, user string) {
	if t == nil || t.Counter == nil || user == "" {
		return
	}
	// Read first: the common case has nothing to reset and needs no write.
	if n, _, err := t.Counter.Failures(ctx, "user", user); err == nil && n > 0 {
		_ = t.Counter.ResetFailures(ctx, "user", user)
	}
}

// ClientAddr is the host part of r.RemoteAddr: the client address used for
// throttling. Behind a proxy, set the schemes' ClientAddr hook instead.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
