package pwcheck

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Pipeline is the one password pipeline: check a login and password
// against the user store, remember the verdict, throttle failures by user
// and address. Build it once (New) and hand it to every scheme
// that takes passwords: basic (Basic and query credentials), the token
// package's issuing endpoint and the OAuth 2 token endpoint.
type Pipeline struct {
	// Verifier checks a password: normally a Cache over a
	// StoreVerifier.
	Verifier Verifier
	// Throttle limits failures; nil checks without limits.
	Throttle *Throttle
	// ClientAddr gives the client address the throttle counts by; default
	// ClientAddr (the connection's remote address). Behind a proxy, take it
	// from the header the proxy sets.
	ClientAddr func(*http.Request) string
	// Slots are the hash slots of the store verifier New builds, and of
	// the hashes that the same requests need outside Verifier (the OAuth 2
	// token endpoint's client secrets), so that one bound covers every
	// hash. nil means DefaultHashSlots.
	Slots *HashSlots
}

// HashSlots returns p.Slots, else DefaultHashSlots (also for a nil p).
func (p *Pipeline) HashSlots() *HashSlots {
	if p == nil || p.Slots == nil {
		return DefaultHashSlots
	}
	return p.Slots
}

// Config configures New.
type Config struct {
	Users stores.UserStore // required
	// Counter keeps the throttle's failure counts (memstore for one
	// process, sqlstore or redisstore for many); nil turns throttling off.
	Counter stores.FailureCounter
	// Limits of the throttle (see Throttle for what 0 and negative mean).
	MaxPerAddr, MaxPerUser, MaxPerUserTotal int
	Window                                  time.Duration
	// KnownFor, see Throttle.KnownFor.
	KnownFor time.Duration
	// CacheTTL and CacheMaxAge tune the verified-credential cache (see
	// CacheConfig); a negative CacheTTL turns the cache off.
	CacheTTL, CacheMaxAge time.Duration
	// Slots bound the hashes running at once; nil = DefaultHashSlots.
	Slots *HashSlots
	// ClientAddr, see Pipeline.ClientAddr.
	ClientAddr func(*http.Request) string
	// Env is the service's shared settings (auth.Env): the clock of the
	// cache and the throttle.
	Env auth.Env
}

// New builds the pipeline: a StoreVerifier (dummy hashes for
// unknown users, legacy hashes upgraded) in the hash slots, behind a
// Cache, under a Throttle.
func New(cfg Config) *Pipeline {
	if cfg.Users == nil {
		panic("auth: Config needs Users")
	}
	var v Verifier = &StoreVerifier{Users: cfg.Users, Slots: cfg.Slots}
	if cfg.CacheTTL >= 0 {
		v = NewCache(CacheConfig{Next: v, Users: cfg.Users, TTL: cfg.CacheTTL, MaxAge: cfg.CacheMaxAge, Env: cfg.Env})
	}
	p := &Pipeline{Verifier: v, ClientAddr: cfg.ClientAddr, Slots: cfg.Slots}
	if cfg.Counter != nil {
		p.Throttle = &Throttle{Counter: cfg.Counter, MaxPerAddr: cfg.MaxPerAddr, MaxPerUser: cfg.MaxPerUser,
			MaxPerUserTotal: cfg.MaxPerUserTotal, Window: cfg.Window, KnownFor: cfg.KnownFor, Env: cfg.Env}
	}
	return p
}

// Check verifies a login and password from r under the throttle (see
// Throttle.VerifyPassword): the Identity, or an *Error with the scheme and
// login.
func (p *Pipeline) Check(r *http.Request, scheme, login, password string) (*auth.Identity, error) {
	return p.CheckAttempt(r, Attempt{Scheme: scheme, Login: login, Password: password})
}

// CheckAttempt is Check for a caller that has built the Attempt itself (to
// set ForgiveRepeat). An empty Attempt.Addr is r's client address as the
// throttle counts it (see Pipeline.ClientAddr).
func (p *Pipeline) CheckAttempt(r *http.Request, a Attempt) (*auth.Identity, error) {
	if p.Throttle != nil && a.Addr == "" { // the address only matters to the throttle, and only if it counts
		a.from, a.pipe = r, p
	}
	return p.Throttle.VerifyPassword(r.Context(), p.Verifier, a)
}

// addr is the client address of r as the throttle counts it.
func (p *Pipeline) addr(r *http.Request) string {
	if p.ClientAddr != nil {
		return p.ClientAddr(r)
	}
	return httpx.ClientAddr(r)
}

// With returns a copy whose verifier is wrap(the verifier): a scheme adds
// what it accepts in a password's place (AcceptTokens), or a service a
// logging decorator, without building a second pipeline. The throttle and
// the cache keep working through any wrapper that passes its context on.
func (p *Pipeline) With(wrap func(Verifier) Verifier) *Pipeline {
	c := *p
	c.Verifier = wrap(p.Verifier)
	return &c
}
