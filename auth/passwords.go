package auth

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/stores"
	"net/http"
	"time"
)

// Passwords is the one password pipeline: check a login and password
// against the user store, remember the verdict, throttle failures by user
// and address. Build it once (NewPasswords) and hand it to every scheme
// that takes passwords: basic (Basic and query credentials), the token
// package's issuing endpoint and the OAuth 2 token endpoint.
type Passwords struct {
	// Verifier checks a password: normally a PasswordCache over a
	// StoreVerifier.
	Verifier PasswordVerifier
	// Throttle limits failures; nil checks without limits.
	Throttle *Throttle
	// ClientAddr gives the client address the throttle counts by; default
	// ClientAddr (the connection's remote address). Behind a proxy, take it
	// from the header the proxy sets.
	ClientAddr func(*http.Request) string
}

// PasswordsConfig configures NewPasswords.
type PasswordsConfig struct {
	Users stores.UserStore // required
	// Counter keeps the throttle's failure counts (memstore for one
	// process, sqlstore or redisstore for many); nil turns throttling off.
	Counter FailureCounter
	// Limits of the throttle (see Throttle for what 0 and negative mean).
	MaxPerAddr, MaxPerUser, MaxPerUserTotal int
	Window                                  time.Duration
	// CacheTTL and CacheMaxAge tune the verified-credential cache (see
	// PasswordCacheConfig); a negative CacheTTL turns the cache off.
	CacheTTL, CacheMaxAge time.Duration
	// Slots bound the hashes running at once; nil = DefaultHashSlots.
	Slots *HashSlots
	// ClientAddr, see Passwords.ClientAddr.
	ClientAddr func(*http.Request) string
}

// NewPasswords builds the pipeline: a StoreVerifier (dummy hashes for
// unknown users, legacy hashes upgraded) in the hash slots, behind a
// PasswordCache, under a Throttle.
func NewPasswords(cfg PasswordsConfig) *Passwords {
	if cfg.Users == nil {
		panic("auth: PasswordsConfig needs Users")
	}
	var v PasswordVerifier = &StoreVerifier{Users: cfg.Users, Slots: cfg.Slots}
	if cfg.CacheTTL >= 0 {
		v = NewPasswordCache(PasswordCacheConfig{Next: v, Users: cfg.Users, TTL: cfg.CacheTTL, MaxAge: cfg.CacheMaxAge})
	}
	p := &Passwords{Verifier: v, ClientAddr: cfg.ClientAddr}
	if cfg.Counter != nil {
		p.Throttle = &Throttle{Counter: cfg.Counter, MaxPerAddr: cfg.MaxPerAddr, MaxPerUser: cfg.MaxPerUser,
			MaxPerUserTotal: cfg.MaxPerUserTotal, Window: cfg.Window}
	}
	return p
}

// Check verifies a login and password from r under the throttle (see
// Throttle.VerifyPassword): the Identity, or an *Error with the scheme and
// login.
func (p *Passwords) Check(r *http.Request, scheme, login, password string) (*Identity, error) {
	return p.CheckAttempt(r.Context(), Attempt{Scheme: scheme, Login: login, Password: password, Addr: p.Addr(r)})
}

// CheckAttempt is Check for a caller that has built the Attempt itself (to
// set ForgiveRepeat).
func (p *Passwords) CheckAttempt(ctx context.Context, a Attempt) (*Identity, error) {
	return p.Throttle.VerifyPassword(ctx, p.Verifier, a)
}

// Addr is the client address of r as the throttle counts it.
func (p *Passwords) Addr(r *http.Request) string {
	if p.ClientAddr != nil {
		return p.ClientAddr(r)
	}
	return ClientAddr(r)
}

// With returns a copy whose verifier is wrap(the verifier): a scheme adds
// what it accepts in a password's place (token.Service.PATVerifier) without
// building a second pipeline.
func (p *Passwords) With(wrap func(PasswordVerifier) PasswordVerifier) *Passwords {
	c := *p
	c.Verifier = wrap(p.Verifier)
	return &c
}
