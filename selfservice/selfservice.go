// Package selfservice is a small web page on which users manage their own
// personal access tokens, as Satellite's "Personal Access Tokens" page
// does: sign in (a form, or HTTP Basic), list the tokens (name, created,
// expires, last used, revoked), create one — its secret shown once, with a
// copy button — and revoke one.
//
// The page is server-rendered (html/template, assets embedded, no
// JavaScript needed: a little makes the copy button work), keyboard- and
// screen-reader-friendly and readable at 320 px. Every form carries a CSRF
// token (double-submit cookie, plus Origin and Sec-Fetch-Site checks),
// every answer a strict Content-Security-Policy and Cache-Control:
// no-store; a secret is never put in a URL or a log.
//
//	mux.Handle("/ui/", selfservice.New(selfservice.Config{Tokens: tokens,
//		Passwords: passwords, Users: store, Sessions: store}))
//
// preset.Presets.SelfService builds it over a preset's token service and
// password pipeline.
package selfservice

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/token"
)

//go:embed assets
var assets embed.FS

// Config configures New.
type Config struct {
	Tokens    *token.Service      // required: the personal access tokens
	Passwords *pwcheck.Pipeline   // required: sign-in (throttled, cached)
	Users     stores.UserStore    // required: every request checks the user again
	Sessions  stores.SessionStore // required: sign-in sessions
	// Prefix is where the handler is mounted; default "/ui/".
	Prefix string
	// Lifetimes bound the page's sessions: IdleTimeout and MaxLifetime
	// only, with session.Config's defaults (30 minutes idle, 8 hours in
	// all). The page's sessions are kept by a session.Manager over
	// Sessions, as the API's are.
	Lifetimes session.Config
	// Env is the service's shared settings (auth.Env): its Audit hears
	// sign-ins, sign-outs, creations and revocations (never a secret);
	// AllowInsecure sends cookies without Secure, for plain-HTTP tests;
	// and its clock.
	Env auth.Env
}

const (
	sessionCookie = "gatehouse_ui"
	csrfCookie    = "gatehouse_csrf"
	maxForm       = 16 << 10
	maxNameLen    = 200
)

// contentSecurityPolicy allows the page's own stylesheet and script and
// nothing else: no inline code, no frames, forms to itself only.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type handler struct {
	cfg      Config
	sessions *session.Manager
	page     *template.Template
	static   http.Handler
	mux      *http.ServeMux
}

// New returns the self-service handler; mount it at cfg.Prefix.
func New(cfg Config) http.Handler {
	if cfg.Tokens == nil || cfg.Passwords == nil || cfg.Users == nil || cfg.Sessions == nil {
		panic("selfservice: Tokens, Passwords, Users and Sessions are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/ui/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		panic("selfservice: Prefix must start and end with /")
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	static, _ := fs.Sub(assets, "assets")
	h := &handler{cfg: cfg, page: template.Must(template.ParseFS(assets, "assets/page.html")),
		static: http.StripPrefix(cfg.Prefix+"static/", http.FileServerFS(static))}
	h.sessions = session.New(session.Config{Store: cfg.Sessions, Users: cfg.Users, CookieName: sessionCookie, Path: cfg.Prefix,
		IdleTimeout: cfg.Lifetimes.IdleTimeout, MaxLifetime: cfg.Lifetimes.MaxLifetime, Env: cfg.Env}, nil)
	p := cfg.Prefix
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"{$}", h.home)
	mux.HandleFunc("GET "+p+"static/{file}", h.asset)
	mux.HandleFunc("POST "+p+"login", h.login)
	mux.HandleFunc("POST "+p+"logout", h.logout)
	mux.HandleFunc("POST "+p+"tokens", h.create)
	mux.HandleFunc("POST "+p+"tokens/{id}/revoke", h.revoke)
	h.mux = mux
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, h.cfg.Prefix+"static/") {
		h.mux.ServeHTTP(w, r) // assets: publicly cacheable, so no cookie
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), csrfKey{}, h.ensureCSRF(w, r)))
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.render(w, r, http.StatusNotFound, view{Error: "There is no such page."}, "")
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *handler) asset(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("file") {
	case "style.css", "copy.js":
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.static.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// view is what the page shows.
type view struct {
	Prefix, CSRF, User, Username string
	Error, Message               string
	Created                      *created
	Tokens                       []tokenRow
}

type created struct{ Name, Secret string }

type tokenRow struct {
	ID, Name, State                     string
	Created, Expires, LastUsed, Revoked string
}

// render writes the page with a fresh or the current CSRF token.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, v view, user string) {
	v.Prefix, v.User = h.cfg.Prefix, user
	v.CSRF, _ = r.Context().Value(csrfKey{}).(string)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = h.page.Execute(w, v)
}

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	u, err := h.user(w, r)
	if err != nil {
		h.unavailable(w, r)
		return
	}
	if u == nil {
		h.render(w, r, http.StatusOK, view{}, "")
		return
	}
	v := view{}
	switch r.URL.Query().Get("done") {
	case "revoked":
		v.Message = "The token was revoked: it no longer works."
	case "signed-in":
		v.Message = "Signed in."
	}
	h.showTokens(w, r, http.StatusOK, v, u)
}

func (h *handler) showTokens(w http.ResponseWriter, r *http.Request, status int, v view, u *stores.User) {
	toks, err := h.cfg.Tokens.List(r.Context(), u.Login(), stores.TokenPAT)
	if err != nil {
		h.unavailable(w, r)
		return
	}
	now := h.cfg.Env.Now()
	slices.SortFunc(toks, func(a, b stores.Token) int { return b.Created.Compare(a.Created) })
	for _, t := range toks {
		row := tokenRow{ID: t.ID, Name: t.Name, Created: when(t.Created, "—"), Expires: when(t.Expires, "never"),
			LastUsed: when(t.LastUsed, "never"), Revoked: when(t.Revoked, "")}
		switch {
		case !t.Revoked.IsZero():
			row.State = "revoked"
		case !t.Expires.IsZero() && !now.Before(t.Expires):
			row.State = "expired"
		default:
			row.State = "active"
		}
		v.Tokens = append(v.Tokens, row)
	}
	h.render(w, r, status, v, u.Login())
}

func when(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (h *handler) unavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "2")
	h.render(w, r, http.StatusServiceUnavailable, view{Error: "The token store is not answering; try again in a moment."}, "")
}

// form parses a POST body (bounded) and checks its CSRF token and origin;
// false means it answered.
func (h *handler) form(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, view{Error: "The form could not be read."}, "")
		return false
	}
	if !h.sameOrigin(r) || !h.csrfOK(r) {
		h.render(w, r, http.StatusForbidden, view{Error: "This form has expired or came from another site. Reload the page and try again."}, "")
		return false
	}
	return true
}

// sameOrigin refuses cross-site form posts where the browser says so.
func (h *handler) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

func (h *handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: h.cfg.Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: !h.cfg.Env.AllowInsecure, SameSite: http.SameSiteStrictMode}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type csrfKey struct{}

// ensureCSRF returns the double-submit token: the CSRF cookie's value,
// set when missing.
func (h *handler) ensureCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := randomToken()
	http.SetCookie(w, h.cookie(csrfCookie, v, 0))
	return v
}

func (h *handler) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	got := r.PostForm.Get("csrf")
	return err == nil && len(c.Value) == 43 && subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) == 1
}

// user is the signed-in user: from the session cookie, else from HTTP
// Basic credentials; nil when neither proves one. An error means a store
// did not answer.
func (h *handler) user(w http.ResponseWriter, r *http.Request) (*stores.User, error) {
	if u, err := h.sessions.Resume(w, r, pageCredential); err != nil || u != nil {
		return u, err
	}
	if login, pw, ok := r.BasicAuth(); ok && envx.CredentialsAllowed(r, h.cfg.Env.AllowInsecure, h.cfg.Env.TrustForwarded) {
		id, err := h.cfg.Passwords.Check(r, auth.SchemeBasic, login, pw)
		if err != nil {
			if auth.AsError(err).Reason == auth.ReasonUnavailable {
				return nil, err
			}
			return nil, nil
		}
		return h.account(r.Context(), id.Login())
	}
	return nil, nil
}

// account is the enabled user of login, nil when there is none.
func (h *handler) account(ctx context.Context, login string) (*stores.User, error) {
	u, err := h.cfg.Users.User(ctx, login)
	if errors.Is(err, stores.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, nil
	}
	return u, nil
}

// pageCredential marks the sessions this page opens (a password typed on
// the page itself). The page and the API share the session store: an API
// session (a JSESSIONID from a bearer or Basic login) is not a page
// session, whatever cookie it is sent in, and session.Manager refuses a
// page session as a JSESSIONID (it cannot check this credential).
const pageCredential = "selfservice:page"

func (h *handler) audit(r *http.Request, msg, user string, attrs ...any) {
	if h.cfg.Env.Audit != nil {
		h.cfg.Env.Audit.Info(msg, append([]any{"user", user, "remote", httpx.ClientAddr(r)}, attrs...)...)
	}
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	login, pw := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	if !envx.CredentialsAllowed(r, h.cfg.Env.AllowInsecure, h.cfg.Env.TrustForwarded) {
		h.render(w, r, http.StatusForbidden, view{Error: "Sign in over HTTPS: a password sent over plain HTTP is refused.", Username: login}, "")
		return
	}
	if login == "" || pw == "" {
		h.render(w, r, http.StatusBadRequest, view{Error: "Enter your user name and password.", Username: login}, "")
		return
	}
	id, err := h.cfg.Passwords.Check(r, auth.SchemeBasic, login, pw)
	if err != nil {
		e := auth.AsError(err)
		msg := "Wrong user name or password."
		switch e.Reason {
		case auth.ReasonThrottled:
			if e.RetryAfter > 0 {
				w.Header().Set("Retry-After", strings.TrimSuffix(e.RetryAfter.Round(time.Second).String(), "s"))
			}
			msg = "Too many failed sign-ins. Wait a little and try again."
		case auth.ReasonUnavailable:
			w.Header().Set("Retry-After", "2")
			msg = "Sign-in is not available right now; try again in a moment."
		}
		h.audit(r, "selfservice sign-in refused", login, "reason", string(e.Reason))
		h.render(w, r, e.Status(), view{Error: msg, Username: login}, "")
		return
	}
	u, err := h.account(r.Context(), id.Login())
	if err != nil || u == nil {
		h.unavailable(w, r)
		return
	}
	if err := h.sessions.Start(w, r, u, auth.SchemeBasic, pageCredential); err != nil {
		h.unavailable(w, r)
		return
	}
	http.SetCookie(w, h.cookie(csrfCookie, randomToken(), 0)) // a new token for the signed-in forms
	h.audit(r, "selfservice sign-in", u.Login())
	http.Redirect(w, r, h.cfg.Prefix+"?done=signed-in", http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	h.sessions.End(w, r)
	http.Redirect(w, r, h.cfg.Prefix, http.StatusSeeOther)
}

// signedIn answers the sign-in page (401) when r has no user.
func (h *handler) signedIn(w http.ResponseWriter, r *http.Request) (*stores.User, bool) {
	u, err := h.user(w, r)
	if err != nil {
		h.unavailable(w, r)
		return nil, false
	}
	if u == nil {
		h.render(w, r, http.StatusUnauthorized, view{Error: "Sign in first."}, "")
		return nil, false
	}
	return u, true
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	u, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || !httpx.Printable(name) {
		h.showTokens(w, r, http.StatusUnprocessableEntity, view{Error: "Give the token a name of 1 to 200 printable characters."}, u)
		return
	}
	spec := token.PATSpec{Login: u.Login(), Name: name}
	if d := strings.TrimSpace(r.PostForm.Get("expires")); d != "" {
		day, err := time.Parse("2006-01-02", d)
		if err != nil || !day.Add(24*time.Hour).After(h.cfg.Env.Now()) {
			h.showTokens(w, r, http.StatusUnprocessableEntity, view{Error: "The expiry date must be today or later (YYYY-MM-DD)."}, u)
			return
		}
		spec.Expires = day.Add(24 * time.Hour) // the end of that day, UTC
	}
	pat, err := h.cfg.Tokens.CreatePAT(r.Context(), spec)
	switch {
	case errors.Is(err, stores.ErrConflict):
		h.showTokens(w, r, http.StatusUnprocessableEntity, view{Error: "You already have a token with that name: choose another."}, u)
		return
	case err != nil:
		h.unavailable(w, r)
		return
	}
	h.audit(r, "selfservice token created", u.Login(), "token_id", pat.Token.ID, "name", pat.Token.Name)
	h.showTokens(w, r, http.StatusCreated, view{Created: &created{Name: pat.Token.Name, Secret: pat.Secret}}, u)
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	u, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := h.cfg.Tokens.Revoke(r.Context(), u.Login(), id)
	switch {
	case errors.Is(err, stores.ErrNotFound):
		h.showTokens(w, r, http.StatusNotFound, view{Error: "You have no such token."}, u)
		return
	case err != nil:
		h.unavailable(w, r)
		return
	}
	h.audit(r, "selfservice token revoked", u.Login(), "token_id", id)
	http.Redirect(w, r, h.cfg.Prefix+"?done=revoked", http.StatusSeeOther)
}
