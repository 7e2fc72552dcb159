// Package session adds oVirt's persistent-auth sessions to any chain of
// schemes:
//
//  1. A request that authenticates through the inner chain and carries
//     "Prefer: persistent-auth" gets a new session, sent as a JSESSIONID
//     cookie (Secure, HttpOnly, SameSite).
//  2. Later requests with the cookie are authenticated by the session alone;
//     the Identity's Attrs["auth_scheme"] says which scheme first proved it.
//  3. A request that presents the session without "Prefer: persistent-auth"
//     ends it after that request, as oVirt's manual describes; so does the
//     Logout handler.
//
// oVirt's other preferences work too: "new-auth" ignores any session and
// logs in afresh; "csrf-protection" makes later requests of the session echo
// its id in a JSESSIONID request header (else 403); a "Session-TTL: <minutes>"
// request header sets the idle timeout of the session being created, up to
// Config.MaxIdleTimeout.
//
// Session ids are 256 random bits, stored only as SHA-256 hashes; an id the
// server did not issue is never adopted, and every login makes a new one.
// A session ends at its idle timeout (default 30 minutes), at its absolute
// lifetime (default 8 hours), and as soon as its user is disabled or changed
// (password, groups).
//
// # CSRF
//
// A cookie is sent by browsers on cross-site requests too. API clients are
// not browsers, so no CSRF check is on by default. Set Config.CSRFHeader to
// require, on cookie-authenticated POST, PUT, PATCH and DELETE requests, a
// request header that a cross-site page cannot set without a CORS preflight
// (e.g. "X-Requested-With"); or have clients ask for csrf-protection.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/finish"
	"github.com/gatehouse/gatehouse/internal/memo"
	"github.com/gatehouse/gatehouse/internal/prefer"
)

// Config configures a Manager.
type Config struct {
	Store stores.SessionStore // required
	Users stores.UserStore    // required: sessions follow their user's state

	CookieName string        // default "JSESSIONID"
	Path       string        // cookie Path; default "/"
	SameSite   http.SameSite // default http.SameSiteStrictMode

	// Tokens re-checks, on every use of a session created by a token
	// (an access token, bearer or PAT), that the token is still active;
	// *token.Service implements it. Without it, a token login gets no
	// session: the session could outlive a revoked token.
	Tokens interface {
		Active(ctx context.Context, tokenID string, u *stores.User) (bool, error)
	}
	// Certs, when set, re-checks on every use of a session created by a
	// client certificate that its serial has not been revoked (use the
	// same deny-list as mtls.Config.Revoked).
	Certs stores.CertRevocations

	// MaxPerUser caps the live sessions of one login (default
	// defaultMaxPerUser, below 0 = no cap): after each new session the
	// oldest beyond it are deleted, in a Store that implements
	// stores.SessionCapper (every gatehouse backend does). Without a cap,
	// anyone with a password could grow the store without limit by logging
	// in again and again.
	MaxPerUser int

	IdleTimeout    time.Duration // default 30 minutes
	MaxIdleTimeout time.Duration // bound for Session-TTL; default 8 hours
	MaxLifetime    time.Duration // absolute; default 8 hours

	// CSRFHeader, when set, must be present on cookie-authenticated unsafe
	// requests (see the package documentation).
	CSRFHeader string
	// Env is the service's shared settings (auth.Env): its clock, and
	// AllowInsecure, which leaves the Secure attribute off cookies sent on
	// plain-HTTP requests (tests without TLS only). By default every
	// session cookie is Secure, also behind a TLS-terminating proxy whose
	// requests arrive here without TLS.
	Env auth.Env
}

// Identity attributes that name the credential behind a login; a session
// created from such a login is bound to that credential.
const (
	attrTokenID    = "token_id"
	attrCertBound  = "cnf_x5t#S256" // token.attrCertThumbprint
	attrCertSerial = "cert_serial"
)

// defaultMaxPerUser is Config.MaxPerUser's default: more browsers, scripts
// and SDK connections than one person runs, far fewer than a loop of logins
// makes.
const defaultMaxPerUser = 64

// capPerUser deletes login's sessions beyond the newest max (0 =
// defaultMaxPerUser, below 0 = none) when store implements
// stores.SessionCapper. A failure only leaves more sessions than the cap
// until the next login: it is not an error for the one just made.
func capPerUser(ctx context.Context, store stores.SessionStore, login string, max int) {
	if max == 0 {
		max = defaultMaxPerUser
	}
	if c, ok := store.(stores.SessionCapper); ok && max > 0 {
		_, _ = c.CapSessions(ctx, login, max)
	}
}

// Manager wraps an inner chain with sessions. It implements
// auth.Authenticator and auth.Challenger (offering the inner chain's
// challenges): use it where the inner chain would go.
type Manager struct {
	cfg   Config
	inner auth.Authenticator
}

// New wraps inner; with a nil inner the manager only keeps sessions that
// Start opens (a sign-in form's).
func New(cfg Config, inner auth.Authenticator) *Manager {
	if cfg.Store == nil || cfg.Users == nil {
		panic("session: Config needs Store and Users")
	}
	if inner == nil {
		inner = auth.Chain() // sessions opened by Start only
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "JSESSIONID"
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.SameSite == 0 {
		cfg.SameSite = http.SameSiteStrictMode
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxIdleTimeout <= 0 {
		cfg.MaxIdleTimeout = 8 * time.Hour
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 8 * time.Hour
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	return &Manager{cfg: cfg, inner: inner}
}

// Challenges implements auth.Challenger: the inner chain's.
func (m *Manager) Challenges() []string { return auth.ChallengesOf(m.inner) }

// Attribute names this package sets on identities.
const (
	attrAuthScheme = "auth_scheme" // the scheme that created the session
)

const idLen = 43 // base64url of 32 bytes

// hashID is the key a SessionStore keeps a session under: the SHA-256 of
// its ID, in hex (the ID itself, the cookie's value, is never stored).
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

func sessionError(reason auth.Reason, msg string) *auth.Error {
	return &auth.Error{Reason: reason, Scheme: auth.SchemeSession, Message: msg}
}

// Authenticate implements auth.Authenticator. A request with a live
// session cookie is the session's (ended after the request unless it
// prefers persistent-auth again); otherwise the inner chain decides, and
// its Result, once the request is allowed, also creates a session when the
// request prefers persistent-auth.
func (m *Manager) Authenticate(r *http.Request) (*auth.Result, error) {
	if auth.Decided(r) { // another scheme of an outer chain won: only the inner chain's finishing
		return m.inner.Authenticate(r)
	}
	cookieID, hasCookie := m.cookie(r)
	if hasCookie {
		if err := auth.RefusePlainHTTP(r); err != nil {
			return nil, err
		}
	}
	if hasCookie && !prefer.Prefers(r.Header.Values("Prefer"), "new-auth") {
		id, err := m.fromSession(r, cookieID)
		if err == nil {
			res := &auth.Result{Identity: id, Finish: m.finishSession}
			if r.URL.RawQuery != "" {
				// The inner chain still removes credentials of its own that
				// the request carries along (basic.Query's, in the URL), as
				// a Chain's later schemes do after a winner.
				won := auth.AuthenticatorFunc(func(*http.Request) (*auth.Result, error) { return res, nil })
				if carried, err := auth.Chain(won, m.inner).Authenticate(r); err == nil {
					return carried, nil
				}
			}
			return res, nil
		}
		// A dead session with fresh credentials beside it: log in afresh.
		res, ierr := m.inner.Authenticate(r)
		if errors.Is(ierr, auth.ErrNoCredentials) {
			if e := auth.AsError(err); e.Reason != auth.ReasonUnavailable && e.Reason != auth.ReasonForbidden {
				c := *e
				c.Header = http.Header{"Set-Cookie": {m.clearingCookie(r).String()}}
				return nil, &c
			}
			return nil, err
		}
		if ierr != nil {
			return nil, ierr
		}
		return m.fresh(res), nil
	}
	res, err := m.inner.Authenticate(r)
	if err != nil {
		return nil, err
	}
	if !hasCookie && !prefer.Prefers(r.Header.Values("Prefer"), "persistent-auth") {
		return res, nil // no session to replace nor to create: fresh would do nothing
	}
	return m.fresh(res), nil
}

// cookie returns the first cookie named CookieName, scanning the Cookie
// schemeAttrs shares one Identity.Attrs map per first scheme among the
// requests of every session (an Identity's map is never mutated).
var schemeAttrs = memo.New[string, map[string]string](64)

// headers without parsing every cookie (the per-request fast path).
func (m *Manager) cookie(r *http.Request) (string, bool) {
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && name == m.cfg.CookieName {
				if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				return value, true
			}
		}
	}
	return "", false
}

// live returns the session cookieID names and its user, when the session
// has not ended and its user is unchanged; else an *auth.Error (the
// session is deleted when it has ended for good).
func (m *Manager) live(ctx context.Context, cookieID string) (*stores.Session, *stores.User, error) {
	if len(cookieID) != idLen {
		return nil, nil, sessionError(auth.ReasonInvalid, "unknown session")
	}
	hash := hashID(cookieID)
	s, err := m.cfg.Store.SessionByHash(ctx, hash)
	if errors.Is(err, stores.ErrNotFound) {
		return nil, nil, sessionError(auth.ReasonInvalid, "unknown or ended session")
	}
	if err != nil {
		return nil, nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeSession, Cause: err}
	}
	now := m.cfg.Env.Now()
	if !s.Active(now) {
		_ = m.cfg.Store.DeleteSession(ctx, hash)
		return nil, nil, sessionError(auth.ReasonExpired, "session expired")
	}
	u, err := m.cfg.Users.User(ctx, s.User)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeSession, Cause: err}
	}
	if err != nil || u.Disabled || !u.Updated.Equal(s.UserUpdated) || s.UserID != u.ID {
		_ = m.cfg.Store.DeleteSession(ctx, hash)
		return nil, nil, &auth.Error{Reason: auth.ReasonRevoked, Scheme: auth.SchemeSession, User: s.User, Message: "session ended: the user was changed or disabled"}
	}
	return s, u, nil
}

// touch keeps s's idle time fresh. Idle-time updates are coalesced: at
// most one write per tenth of the idle timeout, so a session may end up to
// 10% early, never late.
func (m *Manager) touch(ctx context.Context, s *stores.Session) {
	if now := m.cfg.Env.Now(); now.Sub(s.LastSeen) >= s.IdleTimeout/10 {
		_ = m.cfg.Store.TouchSession(ctx, s.Hash, now)
	}
}

func (m *Manager) fromSession(r *http.Request, cookieID string) (*auth.Identity, error) {
	ctx := r.Context()
	s, u, err := m.live(ctx, cookieID)
	if err != nil {
		return nil, err
	}
	hash := s.Hash
	if s.Credential != "" {
		active, err := m.credentialActive(ctx, s.Credential, u)
		if err != nil {
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeSession, Cause: err}
		}
		if !active {
			_ = m.cfg.Store.DeleteSession(ctx, hash)
			return nil, &auth.Error{Reason: auth.ReasonRevoked, Scheme: auth.SchemeSession, User: s.User, Message: "session ended: the credential that opened it was revoked or has expired"}
		}
	}
	if s.CSRF {
		echo := r.Header.Get("JSESSIONID")
		if subtle.ConstantTimeCompare([]byte(echo), []byte(cookieID)) != 1 {
			return nil, &auth.Error{Reason: auth.ReasonForbidden, Scheme: auth.SchemeSession, User: s.User, Message: "csrf-protection: send the session id in a JSESSIONID request header"}
		}
	}
	if m.cfg.CSRFHeader != "" && unsafeMethod(r.Method) && r.Header.Get(m.cfg.CSRFHeader) == "" {
		return nil, &auth.Error{Reason: auth.ReasonForbidden, Scheme: auth.SchemeSession, User: s.User, Message: "cookie-authenticated " + r.Method + " needs the " + m.cfg.CSRFHeader + " header"}
	}
	m.touch(ctx, s)
	id := auth.UserIdentity(u, auth.SchemeSession)
	id.Scopes = s.Scopes
	id.Expires = s.Expires
	id.Attrs = schemeAttrs.Get(s.Scheme, func() map[string]string { return map[string]string{attrAuthScheme: s.Scheme} })
	return id, nil
}

// credentialActive re-checks the credential a session was created from
// (one indexed lookup): a token must still be active, a certificate's
// serial not revoked. A credential that cannot be checked is not active.
func (m *Manager) credentialActive(ctx context.Context, cred string, u *stores.User) (bool, error) {
	kind, ref, _ := strings.Cut(cred, ":")
	switch kind {
	case "token":
		if m.cfg.Tokens == nil {
			return false, nil
		}
		return m.cfg.Tokens.Active(ctx, ref, u)
	case "cert":
		if m.cfg.Certs == nil {
			return true, nil // no deny-list: the expiry cap is the check
		}
		revoked, err := m.cfg.Certs.CertRevoked(ctx, ref)
		return !revoked, err
	}
	return false, nil
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// finishSession ends a session used without asking to keep it.
func (m *Manager) finishSession(w http.ResponseWriter, r *http.Request) *http.Request {
	if !prefer.Prefers(r.Header.Values("Prefer"), "persistent-auth") {
		if sid, ok := m.cookie(r); ok {
			_ = m.cfg.Store.DeleteSession(r.Context(), hashID(sid))
		}
		m.clearCookie(w, r)
	}
	return r
}

// fresh adds to an inner login's Result what a fresh login does with
// sessions: it replaces a session the request still names, and creates
// one when the request prefers persistent-auth.
func (m *Manager) fresh(res *auth.Result) *auth.Result {
	if res == nil || res.Identity == nil {
		return res // Middleware refuses it
	}
	id := res.Identity
	c := *res
	c.Finish = finish.Then(res.Finish, func(w http.ResponseWriter, r *http.Request) *http.Request {
		prefs := r.Header.Values("Prefer")
		persistent := prefer.Prefers(prefs, "persistent-auth")
		if old, ok := m.cookie(r); ok && len(old) == idLen {
			_ = m.cfg.Store.DeleteSession(r.Context(), hashID(old)) // a fresh login replaces it
			if !persistent {
				m.clearCookie(w, r)
			}
		}
		if !persistent {
			return r
		}
		if err := m.create(w, r, id, prefer.Prefers(prefs, "csrf-protection")); err != nil {
			// The request itself is authenticated; say why no session came.
			w.Header().Add("Warning", `199 gatehouse "no session: `+strings.ReplaceAll(err.Error(), `"`, "'")+`"`)
		}
		return r
	})
	return &c
}

func (m *Manager) create(w http.ResponseWriter, r *http.Request, id *auth.Identity, csrf bool) error {
	ctx := r.Context()
	u, err := m.cfg.Users.User(ctx, id.Login())
	if err != nil {
		return errors.New("the identity is not a stored user")
	}
	idle := m.cfg.IdleTimeout
	if v := strings.TrimSpace(r.Header.Get("Session-TTL")); v != "" {
		mins, err := strconv.Atoi(v)
		if err == nil && mins > 0 {
			idle = min(time.Duration(mins)*time.Minute, m.cfg.MaxIdleTimeout)
		}
	}
	sid := newID()
	now := m.cfg.Env.Now()
	// A session never outlives the credential that opened it: it ends at
	// the credential's expiry, and a token or certificate is re-checked on
	// every use.
	expires := now.Add(m.cfg.MaxLifetime)
	if !id.Expires.IsZero() && id.Expires.Before(expires) {
		expires = id.Expires
	}
	if !expires.After(now) {
		return errors.New("the credential has expired")
	}
	var cred string
	switch {
	case id.Attrs[attrTokenID] != "":
		if m.cfg.Tokens == nil {
			return errors.New("token logins get no session here (session.Config.Tokens is not set)")
		}
		if id.Attrs[attrCertBound] != "" {
			// A cookie would carry the login without the certificate the
			// token is bound to (RFC 8705).
			return errors.New("a certificate-bound token gets no session")
		}
		cred = "token:" + id.Attrs[attrTokenID]
	case id.Attrs[attrCertSerial] != "":
		cred = "cert:" + id.Attrs[attrCertSerial]
	}
	s := stores.Session{Hash: hashID(sid), User: id.Login(), UserID: u.ID, Credential: cred, Scheme: id.Scheme, Scopes: id.Scopes, UserUpdated: u.Updated,
		Created: now, LastSeen: now, IdleTimeout: idle, Expires: expires, CSRF: csrf}
	if err := m.cfg.Store.CreateSession(ctx, s); err != nil {
		return errors.New("the session store failed")
	}
	capPerUser(ctx, m.cfg.Store, s.User, m.cfg.MaxPerUser)
	m.setCookie(w, r, sid)
	return nil
}

// newID is a new session id: 32 random bytes, base64url (idLen).
func newID() string {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func (m *Manager) setCookie(w http.ResponseWriter, r *http.Request, sid string) {
	http.SetCookie(w, &http.Cookie{Name: m.cfg.CookieName, Value: sid, Path: m.cfg.Path, HttpOnly: true,
		Secure: m.secure(r), SameSite: m.cfg.SameSite})
}

func (m *Manager) clearingCookie(r *http.Request) *http.Cookie {
	return &http.Cookie{Name: m.cfg.CookieName, Value: "", Path: m.cfg.Path, MaxAge: -1, HttpOnly: true,
		Secure: m.secure(r), SameSite: m.cfg.SameSite}
}

func (m *Manager) secure(r *http.Request) bool { return !m.cfg.Env.AllowInsecure || r.TLS != nil }

func (m *Manager) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, m.clearingCookie(r))
}

// Logout ends the session of the request it serves and clears the cookie
// (204). Mount it behind the middleware at the path of your choice, e.g.
// mux.Handle("DELETE /ovirt-engine/api/session", mw(m.Logout())).
func (m *Manager) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := auth.IdentityFrom(r.Context()); ok && id.Scheme == auth.SchemeSession {
			m.End(w, r)
		} else {
			m.clearCookie(w, r)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Start opens a session for u, who signed in by other means than the
// inner chain (a sign-in form), with the manager's lifetimes, cookie and
// per-user cap. credential names what opened it: one the manager cannot
// check (e.g. "selfservice:page") keeps Authenticate from ever accepting
// the session, so only Resume with that credential finds it.
func (m *Manager) Start(w http.ResponseWriter, r *http.Request, u *stores.User, scheme, credential string) error {
	sid, now := newID(), m.cfg.Env.Now()
	s := stores.Session{Hash: hashID(sid), User: u.Login(), UserID: u.ID, Credential: credential, Scheme: scheme,
		UserUpdated: u.Updated, Created: now, LastSeen: now, IdleTimeout: m.cfg.IdleTimeout, Expires: now.Add(m.cfg.MaxLifetime)}
	if err := m.cfg.Store.CreateSession(r.Context(), s); err != nil {
		return err
	}
	capPerUser(r.Context(), m.cfg.Store, s.User, m.cfg.MaxPerUser)
	m.setCookie(w, r, sid)
	return nil
}

// Resume returns the user of r's session when its cookie names a live
// session that credential opened (Start) and its user is unchanged and
// enabled, keeping the session's idle time fresh; nil, nil when there is
// none, and the cookie of an ended session is cleared. The error is a
// store's failure.
func (m *Manager) Resume(w http.ResponseWriter, r *http.Request, credential string) (*stores.User, error) {
	sid, ok := m.cookie(r)
	if !ok || sid == "" {
		return nil, nil
	}
	s, u, err := m.live(r.Context(), sid)
	switch {
	case err != nil && auth.AsError(err).Reason == auth.ReasonUnavailable:
		return nil, err
	case err != nil:
		m.clearCookie(w, r)
		return nil, nil
	case s.Credential != credential:
		return nil, nil // another kind of session sent as this cookie
	}
	m.touch(r.Context(), s)
	return u, nil
}

// End ends r's session, if its cookie names one, and clears the cookie.
func (m *Manager) End(w http.ResponseWriter, r *http.Request) {
	if sid, ok := m.cookie(r); ok {
		_ = m.cfg.Store.DeleteSession(r.Context(), hashID(sid))
	}
	m.clearCookie(w, r)
}
