package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"sync"
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
	// RepeatWindow bounds Attempt.ForgiveRepeat (default 10 seconds).
	RepeatWindow time.Duration
	Now          func() time.Time

	repeatOnce sync.Once
	repeatKey  []byte
	repeatMu   sync.Mutex
	repeats    map[[sha256.Size]byte]time.Time
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

// Attempt is one password check under a Throttle.
type Attempt struct {
	Scheme, Login, Password, Addr string
	// ForgiveRepeat does not count the first immediate repeat (within
	// RepeatWindow) of the very same failed credentials from the same
	// address: golang.org/x/oauth2's auto-detect mode sends every failed
	// token request twice, and the second guesses nothing new. Further
	// repeats count again, so hammering is still throttled.
	ForgiveRepeat bool
}

// VerifyPassword checks the attempt's login and password with v under the
// throttle: a login or address over its limit is refused (ReasonThrottled)
// without checking; a failure is counted (see Attempt.ForgiveRepeat), a store
// outage never; a success resets the user's counter. Errors carry the scheme
// and login, and a successful Identity without a Scheme gets the attempt's.
// A nil Throttle only verifies.
func (t *Throttle) VerifyPassword(ctx context.Context, v PasswordVerifier, a Attempt) (*Identity, error) {
	if err := t.Check(ctx, a.Scheme, a.Login, a.Addr); err != nil {
		return nil, err
	}
	id, err := v.VerifyPassword(ctx, a.Login, a.Password)
	if err != nil {
		e := *AsError(err)
		if e.Reason != ReasonUnavailable && (!a.ForgiveRepeat || t.firstFailure(a.Login, a.Password, a.Addr)) {
			t.Failed(ctx, a.Login, a.Addr)
		}
		if e.Scheme == "" {
			e.Scheme = a.Scheme
		}
		if e.User == "" {
			e.User = a.Login
		}
		return nil, &e
	}
	t.Succeeded(ctx, a.Login)
	if id.Scheme == "" {
		id.Scheme = a.Scheme
	}
	return id, nil
}

// firstFailure reports whether these credentials did not fail from addr
// within RepeatWindow, remembering them under a keyed hash (never in clear).
func (t *Throttle) firstFailure(login, pw, addr string) bool {
	if t == nil || t.Counter == nil {
		return true
	}
	t.repeatOnce.Do(func() {
		t.repeatKey = make([]byte, 32)
		_, _ = rand.Read(t.repeatKey)
		t.repeats = map[[sha256.Size]byte]time.Time{}
	})
	window := t.RepeatWindow
	if window <= 0 {
		window = 10 * time.Second
	}
	m := hmac.New(sha256.New, t.repeatKey)
	for _, s := range []string{login, pw, addr} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	var k [sha256.Size]byte
	m.Sum(k[:0])
	now := t.now()
	t.repeatMu.Lock()
	defer t.repeatMu.Unlock()
	if len(t.repeats) > 4096 {
		for key, at := range t.repeats {
			if now.Sub(at) > window {
				delete(t.repeats, key)
			}
		}
	}
	if at, ok := t.repeats[k]; ok && now.Sub(at) <= window {
		delete(t.repeats, k) // one free repeat: hammering still counts
		return false
	}
	t.repeats[k] = now
	return true
}

// ClientAddr is the host part of r.RemoteAddr: the client address used for
// throttling. Behind a proxy, set the schemes' ClientAddr hook instead.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
