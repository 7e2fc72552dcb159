// Package basic authenticates requests by user name and password: HTTP Basic
// (RFC 7617) as Satellite/Foreman and oVirt/RHV take it, and credentials in
// the query string as xCAT takes them (?userName=U&userPW=P, or the legacy
// name password). Both accept user@domain logins (oVirt's admin@internal)
// when domains are configured, throttle failed attempts per user and per
// client address, and verify through one pwcheck.Pipeline pipeline (cache,
// throttle, hash slots) shared with the other schemes that take passwords.
package basic

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/creds"
)

// Config configures both the Basic and the query-string authenticators.
type Config struct {
	// Passwords is the password pipeline (pwcheck.New): verifier,
	// cache, throttle. Required.
	Passwords *pwcheck.Pipeline
	// Tokens, when set, also accepts the tokens it verifies in place of
	// the password (Satellite's curl --user NAME:TOKEN, with a token
	// service's PATs()); see pwcheck.AcceptTokens.
	Tokens auth.TokenVerifier

	// Realm is shown in the Basic challenge; default "gatehouse". oVirt
	// clients expect "RESTAPI".
	Realm string

	// Domains, when set, makes logins user@domain: the login is split on its
	// last "@" and the domain must be one of these (else 401). A login
	// without "@" gets DefaultDomain, or is refused when that is empty.
	Domains       []string
	DefaultDomain string

	// MaxCredentialBytes bounds the encoded credentials; default 4096.
	MaxCredentialBytes int
}

func (c *Config) defaults() {
	if c.Passwords == nil {
		panic("basic: Config needs Passwords (pwcheck.New)")
	}
	if c.Tokens != nil {
		v := c.Tokens
		c.Passwords = c.Passwords.With(func(next pwcheck.Verifier) pwcheck.Verifier { return pwcheck.AcceptTokens(v, next) })
	}
	if c.Realm == "" {
		c.Realm = "gatehouse"
	}
	if c.MaxCredentialBytes <= 0 {
		c.MaxCredentialBytes = 4096
	}
}

// authenticator is HTTP Basic; it implements auth.Authenticator.
type authenticator struct {
	cfg       Config
	challenge string
}

// New returns the HTTP Basic authenticator.
func New(cfg Config) auth.Authenticator {
	cfg.defaults()
	return &authenticator{cfg: cfg, challenge: `Basic realm=` + strconv.Quote(cfg.Realm) + `, charset="UTF-8"`}
}

// Challenges implements auth.Challenger: `Basic realm="…", charset="UTF-8"`.
func (a *authenticator) Challenges() []string { return []string{a.challenge} }

// Authenticate implements auth.Authenticator.
func (a *authenticator) Authenticate(r *http.Request) (*auth.Result, error) {
	if auth.Decided(r) { // another scheme won: nothing of this one's to finish
		return nil, auth.ErrNoCredentials
	}
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return nil, auth.ErrNoCredentials
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Basic") {
		return nil, auth.ErrNoCredentials // another scheme's credential
	}
	if len(vals) > 1 {
		return nil, malformed("more than one Authorization header")
	}
	login, pw, perr := creds.ParseBasic(rest, a.cfg.MaxCredentialBytes)
	if perr != nil {
		perr.Scheme = auth.SchemeBasic
		return nil, perr
	}
	if err := auth.RefusePlainHTTP(r); err != nil {
		return nil, err
	}
	id, err := a.cfg.verify(r, auth.SchemeBasic, login, pw)
	if err != nil {
		return nil, err
	}
	return &auth.Result{Identity: id}, nil
}

func malformed(msg string) *auth.Error {
	return &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeBasic, Message: msg}
}

// splitLogin applies the domain rules: the login to look up and the Identity's
// user and domain.
func (c *Config) splitLogin(scheme, login string) (user, domain string, err error) {
	if len(c.Domains) == 0 {
		return login, "", nil
	}
	user, domain = login, c.DefaultDomain
	if i := strings.LastIndexByte(login, '@'); i >= 0 {
		user, domain = login[:i], login[i+1:]
	}
	switch {
	case user == "":
		return "", "", &auth.Error{Reason: auth.ReasonMalformed, Scheme: scheme, Message: "empty user name before @domain"}
	case domain == "":
		return "", "", &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, User: login, Message: "login must be user@domain"}
	case !slices.Contains(c.Domains, domain):
		return "", "", &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, User: login, Message: "unknown domain"}
	}
	return user, domain, nil
}

// verify runs throttling and the verifier for a parsed login and password.
func (c *Config) verify(r *http.Request, scheme, login, pw string) (*auth.Identity, error) {
	user, domain, err := c.splitLogin(scheme, login)
	if err != nil {
		return nil, err
	}
	if domain != "" {
		login = user + "@" + domain
	}
	return c.Passwords.Check(r, scheme, login, pw)
}
