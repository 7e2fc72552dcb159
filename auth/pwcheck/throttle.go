package pwcheck

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Throttle limits failed password attempts. Three counters apply to each
// attempt, all in fixed windows (Window):
//
//   - per client address (MaxPerAddr, default 30: Foreman's figure);
//   - per (login, address) pair (MaxPerUser, default 10);
//   - per login over all addresses (MaxPerUserTotal, default 100): the
//     ceiling against guessing one password from many addresses.
//
// Once a counter has reached its limit, further attempts it covers are
// refused with 429 and Retry-After until the window ends, without checking
// the credential. An attempt is counted before it is checked (and taken
// back if it succeeds), so at most the limit is ever checked, however many
// guesses arrive at once. A success resets its (login, address) counter.
//
// A credential that the verifier's cache remembers, and a right token
// taken in the password's place (AcceptTokens), are never throttled:
// an attacker who exhausts a login's counters from
// other addresses, or even the real user's own, does not stop the real
// user's working credential. An uncached correct password is refused only
// when its own address, its (login, address) pair or the login's total
// ceiling is exhausted.
//
// Logins longer than 64 bytes are counted under their SHA-256, so an
// attacker's overlong logins cannot grow the counters.
type Throttle struct {
	Counter stores.FailureCounter
	Window  time.Duration // default 5 minutes
	// MaxPerAddr limits failures per client address: 0 = default 30,
	// negative = no limit.
	MaxPerAddr int
	// MaxPerUser limits failures per (login, client address) pair: 0 =
	// default 10, negative = no limit.
	MaxPerUser int
	// MaxPerUserTotal limits failures per login over all addresses: 0 =
	// default 100, negative = no limit.
	MaxPerUserTotal int
	// RepeatWindow bounds Attempt.ForgiveRepeat (default 10 seconds).
	RepeatWindow time.Duration
	// KnownFor is how long an address from which a login once signed in
	// with its password is remembered as that login's own (default 30
	// days; negative: never). From such an address the per-login ceiling
	// (MaxPerUserTotal), which guesses from anywhere exhaust, does not
	// apply: a distributed attacker cannot lock the real user out of a
	// first login after a restart or a cache expiry. The address's own
	// counters (MaxPerAddr, MaxPerUser) still do.
	KnownFor time.Duration
	// Env is the service's shared settings (auth.Env): its clock.
	Env auth.Env

	repeatOnce sync.Once
	repeatKey  []byte
	repeatMu   sync.Mutex
	repeats    map[[sha256.Size]byte]time.Time
}

// Default throttle limits (see Throttle).
const (
	defaultMaxPerAddr      = 30
	defaultMaxPerUser      = 10
	defaultMaxPerUserTotal = 100
)

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
	return envx.Clock(t.Env.Now)()
}

type throttleKey struct {
	scope, key string
	limit      int
}

// maxCountedLogin is the longest login counted as it is; longer ones, and
// ones that are not printable text, are counted under their hash.
const maxCountedLogin = 64

func countedLogin(login string) string {
	if len(login) <= maxCountedLogin && httpx.Printable(login) {
		return login
	}
	return hashed(login)
}

// hashed is s's counter key when s cannot be counted as it is.
func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// keys are the counters that apply to an attempt: empty keys and disabled
// limits are left out (limit < 0).
func (t *Throttle) keys(user, addr string, known bool) [3]throttleKey {
	user = countedLogin(user)
	if addr != "" && (len(addr) > maxCountedLogin || !httpx.Printable(addr) || strings.Contains(addr, " ")) {
		addr = hashed(addr) // a Pipeline.ClientAddr of the caller's may return anything
	}
	ks := [3]throttleKey{
		{"addr", addr, limitOr(t.MaxPerAddr, defaultMaxPerAddr)},
		// The address never holds a space, so the first one separates the
		// two unambiguously; every key is printable text, which PostgreSQL's
		// TEXT column takes (it refuses a NUL).
		{"user-addr", addr + " " + user, limitOr(t.MaxPerUser, defaultMaxPerUser)},
		{"user", user, limitOr(t.MaxPerUserTotal, defaultMaxPerUserTotal)},
	}
	if addr == "" {
		ks[0].limit, ks[1].limit = -1, -1
	}
	if user == "" {
		ks[1].limit, ks[2].limit = -1, -1
	}
	if known {
		ks[2].limit = -1 // the login's own address: the global ceiling is for strangers
	}
	return ks
}

const knownScope = "known"

// knownFor is KnownFor with its default.
func (t *Throttle) knownFor() time.Duration {
	if t.KnownFor == 0 {
		return 30 * 24 * time.Hour
	}
	return t.KnownFor
}

// known reports whether user has signed in with its password from addr
// within KnownFor (see Throttle.KnownFor); a counter that fails says no.
func (t *Throttle) known(ctx context.Context, user, addr string) bool {
	if addr == "" || user == "" || t.knownFor() < 0 {
		return false
	}
	n, _, err := t.Counter.Failures(ctx, knownScope, t.keys(user, addr, false)[1].key)
	return err == nil && n > 0
}

// remember records addr as user's own (see Throttle.KnownFor).
func (t *Throttle) remember(ctx context.Context, user, addr string) {
	if addr == "" || user == "" || t.knownFor() < 0 {
		return
	}
	_, _, _ = t.Counter.AddFailure(context.WithoutCancel(ctx), knownScope, t.keys(user, addr, false)[1].key, t.knownFor())
}

// reserve counts the attempt on every counter before it is checked. It
// returns the keys it counted (to be taken back on success), or a
// ReasonThrottled *Error (nothing stays counted) when a counter is over its
// limit, or ReasonUnavailable when the counter fails.
func (t *Throttle) reserve(ctx context.Context, scheme, user, addr string, known bool) ([]throttleKey, error) {
	var held []throttleKey
	for _, k := range t.keys(user, addr, known) {
		if k.limit < 0 {
			continue
		}
		n, left, err := t.Counter.AddFailure(ctx, k.scope, k.key, t.window())
		if err != nil {
			t.release(ctx, held)
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: scheme, User: user, Cause: fmt.Errorf("auth: throttle counter: %w", err)}
		}
		held = append(held, k)
		if n > k.limit {
			t.release(ctx, held)
			return nil, &auth.Error{Reason: auth.ReasonThrottled, Scheme: scheme, User: user, RetryAfter: max(left, time.Second)}
		}
	}
	return held, nil
}

// release takes reservations back (a context that ended must not leave
// them counted).
func (t *Throttle) release(ctx context.Context, held []throttleKey) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range held {
		_ = t.Counter.RemoveFailure(ctx, k.scope, k.key)
	}
}

// check returns a ReasonThrottled *Error when an attempt for user from addr
// would be refused now, nil otherwise; it counts nothing. A nil Throttle
// allows everything. A counter that fails is reported as ReasonUnavailable.
// VerifyPassword does not use it: it reserves the attempt atomically.
func (t *Throttle) check(ctx context.Context, scheme, user, addr string) error {
	if t == nil || t.Counter == nil {
		return nil
	}
	for _, k := range t.keys(user, addr, false) {
		if k.limit < 0 {
			continue
		}
		n, left, err := t.Counter.Failures(ctx, k.scope, k.key)
		if err != nil {
			return &auth.Error{Reason: auth.ReasonUnavailable, Scheme: scheme, User: user, Cause: fmt.Errorf("auth: throttle counter: %w", err)}
		}
		if n >= k.limit && left > 0 {
			return &auth.Error{Reason: auth.ReasonThrottled, Scheme: scheme, User: user, RetryAfter: left}
		}
	}
	return nil
}

// failed records a failed attempt for user and addr that was not reserved
// through VerifyPassword (a scheme that checks credentials itself).
func (t *Throttle) failed(ctx context.Context, user, addr string) {
	if t == nil || t.Counter == nil {
		return
	}
	for _, k := range t.keys(user, addr, false) {
		if k.limit >= 0 {
			_, _, _ = t.Counter.AddFailure(ctx, k.scope, k.key, t.window())
		}
	}
}

// succeeded resets the (user, addr) counter after a successful login.
func (t *Throttle) succeeded(ctx context.Context, user, addr string) {
	if t == nil || t.Counter == nil || user == "" {
		return
	}
	k := t.keys(user, addr, false)[1]
	if k.limit < 0 {
		return
	}
	// Read first: the common case has nothing to reset and needs no write.
	if n, _, err := t.Counter.Failures(ctx, k.scope, k.key); err == nil && n > 0 {
		_ = t.Counter.ResetFailures(ctx, k.scope, k.key)
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

	// from, when Addr is empty, gives it on first need (Pipeline.Check):
	// a right personal access token or a cached password never needs it.
	from *http.Request
	pipe *Pipeline
}

// resolveAddr fills Addr from the request when the throttle needs it.
func (a *Attempt) resolveAddr() {
	if a.Addr == "" && a.from != nil {
		a.Addr = a.pipe.addr(a.from)
	}
}

// VerifyPassword checks the attempt's login and password with v under the
// throttle. The throttle counts an attempt at the moment v is about to
// hash (HashSlots.Do asks it, through ctx): so a credential v's cache
// remembers is answered at once and never throttled, and so is a right
// token (AcceptTokens), whatever wraps v, as long as the wrapper passes
// ctx on. At the hash, the attempt is counted on every counter first; if
// one is over its limit the attempt is refused (ReasonThrottled) without
// hashing, and with the count taken back. A failure stays counted (see
// Attempt.ForgiveRepeat); a success or a store outage takes the count
// back, and a success resets the (login, address) counter.
//
// An answer that ran no hash under the throttle and that neither the cache
// nor a token verifier gave (a verifier that checks outside HashSlots, or
// a decorator that dropped the context) is judged afterwards: refused with
// ReasonThrottled while a counter is over its limit, right or wrong, and a
// failure counted; the limit then bounds what a guesser learns, though not
// what it costs. A wrong token is counted the same way.
// Errors carry the scheme and login, and a successful Identity without a
// Scheme gets the attempt's. A nil Throttle only verifies.
func (t *Throttle) VerifyPassword(ctx context.Context, v Verifier, a Attempt) (*auth.Identity, error) {
	if t == nil || t.Counter == nil {
		id, err := v.VerifyPassword(ctx, a.Login, a.Password)
		return finishAttempt(a, id, err)
	}
	g := &gate{t: t, a: a}
	id, err := v.VerifyPassword(g.withGate(ctx), a.Login, a.Password)
	a = g.a // with the address HashSlots.Do may have resolved
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	unavailable := err != nil && auth.AsError(err).Reason == auth.ReasonUnavailable
	switch {
	case g.refused:
		// over a limit: nothing stays counted, and err says so
	case g.held != nil:
		if err == nil {
			t.release(ctx, g.held)
			t.succeeded(ctx, a.Login, a.Addr)
			if !g.known {
				t.remember(ctx, a.Login, a.Addr)
			}
		} else if unavailable || a.ForgiveRepeat && !t.firstFailure(a.Login, a.Password, a.Addr) {
			t.release(ctx, g.held)
		}
	case err == nil && g.vouched, unavailable, g.shared:
		// a cached answer or a right token (no hash, never throttled), an
		// outage, or another attempt's check answered this one (counted
		// there)
	case err == nil:
		// A verifier that checks outside HashSlots (an LDAP bind, a
		// decorator that dropped the context): its right answer counts only
		// within the limits, or 429 would tell a guesser which guess was
		// right.
		a.resolveAddr()
		if terr := t.check(ctx, a.Scheme, a.Login, a.Addr); terr != nil {
			return finishAttempt(a, nil, terr)
		}
	default:
		a.resolveAddr()
		if terr := t.check(ctx, a.Scheme, a.Login, a.Addr); terr != nil {
			return finishAttempt(a, nil, terr)
		}
		t.failed(ctx, a.Login, a.Addr)
	}
	return finishAttempt(a, id, err)
}

// gate is one attempt's throttle, which HashSlots.Do asks before hashing.
type gate struct {
	context.Context // the attempt's context, of which the gate is the child (withGate)
	t               *Throttle
	a               Attempt

	mu      sync.Mutex
	held    []throttleKey // counted at the hash
	known   bool          // the login has signed in from this address before
	refused bool          // a counter was over its limit
	shared  bool          // answered by another attempt's hash
	vouched bool          // answered without a hash by the cache or a token verifier
	closed  bool          // the attempt is over (a background check asks nothing)
}

type gateKey struct{}

// withGate makes g the child of ctx that carries it: one allocation for
// the gate and its context node.
func (g *gate) withGate(ctx context.Context) context.Context {
	g.Context = ctx
	return g
}

// Value answers gateKey with the gate itself, every other key as the
// attempt's context does.
func (g *gate) Value(key any) any {
	if _, ok := key.(gateKey); ok {
		return g
	}
	return g.Context.Value(key)
}

// admitHash is called by HashSlots.Do before it hashes for ctx: it counts
// the attempt of ctx's throttle, once, and refuses the hash when a counter
// is over its limit.
func admitHash(ctx context.Context) error {
	g, _ := ctx.Value(gateKey{}).(*gate)
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.held != nil {
		return nil
	}
	g.a.resolveAddr()
	g.known = g.t.known(ctx, g.a.Login, g.a.Addr)
	held, err := g.t.reserve(ctx, g.a.Scheme, g.a.Login, g.a.Addr, g.known)
	if err != nil {
		g.refused = auth.AsError(err).Reason == auth.ReasonThrottled
		return err
	}
	g.held = held
	if g.held == nil {
		g.held = []throttleKey{}
	}
	return nil
}

// answeredElsewhere tells ctx's throttle that another attempt's check (a
// concurrent one with the same credentials) answered this one.
func answeredElsewhere(ctx context.Context) {
	if g, _ := ctx.Value(gateKey{}).(*gate); g != nil {
		g.mu.Lock()
		g.shared = true
		g.mu.Unlock()
	}
}

// vouch tells ctx's throttle that the cache or a token verifier answered
// without a hash: a right answer then needs no counter.
func vouch(ctx context.Context) {
	if g, _ := ctx.Value(gateKey{}).(*gate); g != nil {
		g.mu.Lock()
		g.vouched = true
		g.mu.Unlock()
	}
}

// withoutGate is ctx without its attempt's throttle: for work that
// outlives the attempt (a background check).
func withoutGate(ctx context.Context) context.Context {
	return context.WithValue(ctx, gateKey{}, (*gate)(nil))
}

// finishAttempt fills the attempt's scheme and login into the outcome (id
// is the caller's own copy).
func finishAttempt(a Attempt, id *auth.Identity, err error) (*auth.Identity, error) {
	if err != nil {
		e := *auth.AsError(err)
		if e.Scheme == "" {
			e.Scheme = a.Scheme
		}
		if e.User == "" {
			e.User = a.Login
		}
		return nil, &e
	}
	if id == nil {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: a.Scheme, User: a.Login, Cause: errors.New("pwcheck: the verifier returned neither identity nor error")}
	}
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
