// Package oauth2 is the OAuth 2.0 side of gatehouse, the way oVirt/RHV's SSO
// does it: a token endpoint for the resource owner password credentials
// grant (RFC 6749 §4.3) with a mandatory scope, bearer-token verification on
// resources (RFC 6750), and a client helper on golang.org/x/oauth2.
//
// Access tokens are issued by the token package (opaque by default, JWT when
// its Service is so configured), so expiry and revocation work as for every
// other token. No refresh token is issued unless asked for (oVirt issues
// none: a client simply asks again); when enabled they are single-use and
// rotated.
package oauth2

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/certbind"
	"github.com/gatehouse/gatehouse/internal/envx"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/tokenreq"
	"github.com/gatehouse/gatehouse/token"
)

// EndpointConfig configures the token endpoint (the server side; the
// client side of golang.org/x/oauth2 is its Config).
type EndpointConfig struct {
	Tokens *token.Service // required: issues the tokens
	// Passwords checks username and password: the pipeline shared with the
	// other schemes (pwcheck.New). Required by the token endpoint. Client
	// secrets are checked in its hash slots (Pipeline.HashSlots), so a
	// service's own HashSlots bound those hashes too; the revocation and
	// introspection endpoints, which take no passwords, use it only for
	// that, and DefaultHashSlots without it.
	Passwords *pwcheck.Pipeline
	// Scopes are the scopes the endpoint grants. A request for another scope
	// is invalid_scope. Empty means any scope is granted as asked.
	Scopes []string
	// RequireScope makes a scope mandatory (oVirt's contract is
	// "ovirt-app-api"). With DefaultScope set, a request without a scope
	// gets the default instead (RFC 6749 §3.3), as oVirt's SSO issues a
	// token without one and requests-oauthlib 1.3's OAuth2Session drops the
	// scope from the password grant; a wrong scope is still invalid_scope.
	RequireScope bool
	DefaultScope []string
	// Clients, when set, authenticates clients (RFC 6749 §2.3.1, by Basic or
	// body parameters); RequireClient refuses requests without one.
	Clients       stores.ClientStore
	RequireClient bool
	// RefreshTokens issues single-use, rotating refresh tokens valid for
	// RefreshTTL (0 = 30 days).
	RefreshTokens bool
	RefreshTTL    time.Duration
	// ErrorCodeField, when set, names a member of the error JSON that
	// repeats RFC 6749's error code beside error and error_description
	// (oVirt's SSO clients read error_code).
	ErrorCodeField string
	// Env is the service's shared settings (auth.Env): TLS proxy,
	// plain-HTTP policy, audit log (one record per token request;
	// failures carry the RFC 6749 error code as code), clock.
	Env auth.Env
}

// tokenEndpoint is the token endpoint handler.
type tokenEndpoint struct {
	cfg   EndpointConfig
	dummy string
}

// NewTokenEndpoint returns the handler.
func NewTokenEndpoint(cfg EndpointConfig) http.Handler { return newTokenEndpoint(cfg) }

func newTokenEndpoint(cfg EndpointConfig) *tokenEndpoint {
	if cfg.Tokens == nil || cfg.Passwords == nil {
		panic("oauth2: EndpointConfig needs Tokens and Passwords")
	}
	return newEndpoint(cfg)
}

// newEndpoint fills cfg's defaults; the revocation and introspection
// endpoints share the token endpoint's request checks through it.
func newEndpoint(cfg EndpointConfig) *tokenEndpoint {
	if cfg.Tokens == nil {
		panic("oauth2: EndpointConfig needs Tokens")
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	e := &tokenEndpoint{cfg: cfg}
	if cfg.Clients != nil {
		e.dummy = password.Dummy()
	}
	return e
}

// tokenResponse is the success body: RFC 6749 §5.1 plus oVirt's "exp", the expiry
// in epoch milliseconds as a string.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	Exp          string `json:"exp,omitempty"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// ServeHTTP implements http.Handler: one token request.
func (e *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	basicUsed := false
	user := ""
	fail := func(err *auth.Error) {
		if err.User == "" {
			err.User = user
		}
		authlog.Failure(e.cfg.Env.Audit, r, err)
		errorResponder{CodeField: e.cfg.ErrorCodeField, BasicChallenge: basicUsed}.Error(w, r, err)
	}
	tr, client, rerr := e.readRequest(w, r, &basicUsed, &user)
	if rerr != nil {
		fail(rerr)
		return
	}
	ctx := r.Context()
	if client != nil && len(client.Grants) > 0 && !slices.Contains(client.Grants, tr.GrantType) {
		fail(errf(codeUnauthorizedClient, "this client may not use grant_type "+strconv.Quote(tr.GrantType)))
		return
	}
	scopes, serr := e.grantScopes(tr.Scope, client)
	if serr != nil && tr.GrantType != "refresh_token" {
		fail(serr)
		return
	}

	var id *auth.Identity
	var perr *auth.Error
	// RFC 8705: a grant made over mutual TLS binds its tokens to the
	// client's certificate.
	grant := token.Grant{Family: rand.Text(), CertThumbprint: certbind.OfRequest(r)}
	if client != nil {
		grant.ClientID = client.ID
	}
	switch tr.GrantType {
	case "password":
		id, perr = e.passwordGrant(r, tr)
	case "refresh_token":
		if !e.cfg.RefreshTokens {
			perr = errf(codeUnsupportedGrantType, "refresh tokens are not issued here: ask again with the password grant")
			break
		}
		id, grant, perr = e.refreshGrant(ctx, tr, grant.ClientID)
		if perr == nil {
			scopes = id.Scopes
		}
	case "":
		perr = errf(codeInvalidRequest, "missing grant_type")
	default:
		perr = errf(codeUnsupportedGrantType, "grant_type "+strconv.Quote(tr.GrantType)+" is not supported; use password")
	}
	if perr != nil {
		fail(perr)
		return
	}
	authlog.Success(e.cfg.Env.Audit, r, id)
	e.issue(w, r, id, scopes, grant, fail)
}

// readRequest applies what every endpoint of this package checks before
// its own work: POST over HTTPS, one Authorization header at most, a form
// body without credentials in the URL, and the client's credentials
// (RFC 6749 §2.3.1). user is set to the request's username as soon as it
// is known (for the audit of a failure).
func (e *tokenEndpoint) readRequest(w http.ResponseWriter, r *http.Request, basicUsed *bool, user *string) (tokenreq.Request, *stores.Client, *auth.Error) {
	var tr tokenreq.Request
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e := errf(codeInvalidRequest, "this endpoint takes POST")
		e.HTTPStatus = http.StatusMethodNotAllowed
		return tr, nil, e
	}
	if !envx.CredentialsAllowed(r, e.cfg.Env.AllowInsecure, e.cfg.Env.TrustForwarded) {
		return tr, nil, errf(codeInvalidRequest, "this endpoint is served over HTTPS only")
	}
	if len(r.Header.Values("Authorization")) > 1 {
		return tr, nil, errf(codeInvalidRequest, "more than one Authorization header")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return tr, nil, errf(codeInvalidRequest, "send the request as application/x-www-form-urlencoded")
	}
	if q := r.URL.Query(); q.Has("password") || q.Has("client_secret") || q.Has("token") {
		return tr, nil, errf(codeInvalidRequest, "credentials belong in the request body, not the URL")
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, tokenreq.MaxBytes+1))
	if err != nil {
		return tr, nil, errf(codeInvalidRequest, "cannot read the request body")
	}
	tr, perr := tokenreq.Parse(string(raw))
	if perr != nil {
		return tr, nil, perr
	}
	*user = tr.Username
	client, cerr := e.authenticateClient(r.Context(), r, &tr, basicUsed)
	return tr, client, cerr
}

func (e *tokenEndpoint) issue(w http.ResponseWriter, r *http.Request, id *auth.Identity, scopes []string, grant token.Grant, fail func(*auth.Error)) {
	ctx := r.Context()
	issued, err := e.cfg.Tokens.IssueAccessGrant(ctx, id, scopes, grant)
	if err != nil {
		fail(unavailable("cannot issue a token now", err))
		return
	}
	resp := tokenResponse{AccessToken: issued.Secret, TokenType: "bearer", Scope: strings.Join(scopes, " ")}
	if exp := issued.Token.Expires; !exp.IsZero() {
		resp.ExpiresIn = int64(exp.Sub(e.cfg.Env.Now()).Round(time.Second) / time.Second)
		resp.Exp = strconv.FormatInt(exp.UnixMilli(), 10)
	}
	if e.cfg.RefreshTokens {
		rt, err := e.cfg.Tokens.IssueRefresh(ctx, id, scopes, e.cfg.RefreshTTL, grant)
		if err != nil {
			fail(unavailable("cannot issue a token now", err))
			return
		}
		resp.RefreshToken = rt.Secret
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(resp)
}

// authenticateClient applies RFC 6749 §2.3.1. x/oauth2 in auto-detect mode
// sends "Basic Og==" (empty id and secret) for public clients: that counts
// as no client credentials.
func (e *tokenEndpoint) authenticateClient(ctx context.Context, r *http.Request, tr *tokenreq.Request, basicUsed *bool) (*stores.Client, *auth.Error) {
	id, secret, hasBasic := r.BasicAuth()
	if hasBasic && (id != "" || secret != "") {
		*basicUsed = true
		if tr.ClientID != "" || tr.ClientSecret != "" {
			return nil, errf(codeInvalidRequest, "client credentials given both in the Authorization header and in the body")
		}
		// RFC 6749 §2.3.1: Basic credentials are form-encoded first.
		var err1, err2 error
		tr.ClientID, err1 = url.QueryUnescape(id)
		tr.ClientSecret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, errf(codeInvalidClient, "client credentials are not form-encoded")
		}
	} else if r.Header.Get("Authorization") != "" && !hasBasic {
		return nil, errf(codeInvalidRequest, "the token endpoint takes client credentials as HTTP Basic")
	}
	if e.cfg.Clients == nil {
		return nil, nil // clients are not authenticated here; ids are ignored
	}
	if tr.ClientID == "" {
		if e.cfg.RequireClient {
			return nil, errf(codeInvalidClient, "client authentication required")
		}
		return nil, nil
	}
	c, err := e.cfg.Clients.Client(ctx, tr.ClientID)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, unavailable("cannot check the client now", err)
	}
	hash := e.dummy
	if c != nil && c.SecretHash != "" {
		hash = c.SecretHash
	}
	var ok bool
	if err := e.cfg.Passwords.HashSlots().Do(ctx, func() { ok, _ = password.Verify(hash, tr.ClientSecret) }); err != nil {
		u := unavailable("too many checks at once, try again shortly", err)
		u.RetryAfter = time.Second
		return nil, u
	}
	switch {
	case c == nil || c.Disabled:
		return nil, errf(codeInvalidClient, "unknown client or bad client secret")
	case c.SecretHash == "" && tr.ClientSecret == "":
		return c, nil // a registered public client
	case !ok:
		return nil, errf(codeInvalidClient, "unknown client or bad client secret")
	}
	return c, nil
}

func (e *tokenEndpoint) grantScopes(asked []string, c *stores.Client) ([]string, *auth.Error) {
	if len(asked) == 0 {
		asked = e.cfg.DefaultScope
	}
	if len(asked) == 0 {
		if e.cfg.RequireScope {
			return nil, errf(codeInvalidScope, "scope is required"+e.expected())
		}
		return nil, nil
	}
	for _, s := range asked {
		if len(e.cfg.Scopes) > 0 && !slices.Contains(e.cfg.Scopes, s) {
			return nil, errf(codeInvalidScope, "unknown scope "+strconv.Quote(s)+e.expected())
		}
		if c != nil && len(c.Scopes) > 0 && !slices.Contains(c.Scopes, s) {
			return nil, errf(codeInvalidScope, "scope "+strconv.Quote(s)+" is not allowed for this client")
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(asked))), nil
}

// expected names the scopes the endpoint grants, for error messages.
func (e *tokenEndpoint) expected() string {
	if len(e.cfg.Scopes) == 0 {
		return ""
	}
	return ": ask for " + strings.Join(e.cfg.Scopes, " or ")
}

func (e *tokenEndpoint) passwordGrant(r *http.Request, tr tokenreq.Request) (*auth.Identity, *auth.Error) {
	if tr.Username == "" || tr.Password == "" {
		return nil, errf(codeInvalidRequest, "the password grant needs username and password")
	}
	// x/oauth2's auto-detect retry repeats a failed request at once with the
	// client credentials moved: the throttle counts such a repeat once.
	id, err := e.cfg.Passwords.CheckAttempt(r, pwcheck.Attempt{
		Scheme: auth.SchemeOAuth2, Login: tr.Username, Password: tr.Password, ForgiveRepeat: true})
	if err != nil {
		switch ae := auth.AsError(err); ae.Reason {
		case auth.ReasonThrottled:
			t := errf(codeInvalidGrant, "too many failed attempts, try again later")
			t.Reason, t.HTTPStatus, t.RetryAfter = auth.ReasonThrottled, 0, ae.RetryAfter
			return nil, t
		case auth.ReasonUnavailable:
			return nil, unavailable("cannot check credentials now", ae.Cause)
		}
		return nil, errf(codeInvalidGrant, "the username or password is incorrect")
	}
	return id, nil
}

// refreshGrant rotates the refresh token presented by clientID ("" when no
// client authenticated) and returns the identity and the grant (client and
// family) the new tokens belong to.
func (e *tokenEndpoint) refreshGrant(ctx context.Context, tr tokenreq.Request, clientID string) (*auth.Identity, token.Grant, *auth.Error) {
	if tr.RefreshToken == "" {
		return nil, token.Grant{}, errf(codeInvalidRequest, "missing refresh_token")
	}
	id, grant, err := e.cfg.Tokens.Rotate(ctx, tr.RefreshToken, clientID)
	if err != nil {
		if auth.AsError(err).Reason == auth.ReasonUnavailable {
			return nil, token.Grant{}, unavailable("cannot check the token now", err)
		}
		return nil, token.Grant{}, errf(codeInvalidGrant, "the refresh token is invalid, expired, revoked, already used or not yours")
	}
	if len(tr.Scope) > 0 && !isSubset(tr.Scope, id.Scopes) {
		return nil, token.Grant{}, errf(codeInvalidScope, "a refreshed token cannot have more scope than the original")
	}
	if len(tr.Scope) > 0 {
		id.Scopes = tr.Scope
	}
	return id, grant, nil
}

func isSubset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}
