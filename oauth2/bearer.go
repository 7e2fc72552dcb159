package oauth2

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/tokencheck"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/tokenreq"
)

// BearerConfig configures bearer-token verification on resources.
type BearerConfig struct {
	// Verifier checks the tokens: a token service's AccessTokens(), an
	// oidc.New's verifier, a token.JWT, or an auth.Union of several (one
	// Authorization: Bearer then takes every kind). Required.
	Verifier auth.TokenVerifier
	Realm    string // in the challenge; default "gatehouse"
	// Scheme labels the identities it proves whose verifier left
	// Identity.Scheme empty; default auth.SchemeOAuth2. xCAT's face says
	// auth.SchemeToken, so that a token reads the same whether it came as
	// X-Auth-Token or as Bearer.
	Scheme string
	// FormBody and Query also accept the token as an access_token form-body
	// or query parameter (RFC 6750 §2.2, §2.3). Both are off by default:
	// query tokens end up in logs.
	FormBody, Query bool
}

// bearer is the transport of RFC 6750 bearer tokens: it takes the token
// from the request and asks its Verifier. It implements auth.Authenticator
// and auth.Challenger. A missing token gets the plain `bearer realm="…"`
// challenge; a bad one 401 with error="invalid_token", whichever verifier
// refused it.
type bearer struct {
	cfg       BearerConfig
	challenge string
}

// NewBearer returns the bearer authenticator.
func NewBearer(cfg BearerConfig) auth.Authenticator {
	if cfg.Verifier == nil {
		panic("oauth2: BearerConfig needs a Verifier")
	}
	if cfg.Realm == "" {
		cfg.Realm = "gatehouse"
	}
	if cfg.Scheme == "" {
		cfg.Scheme = auth.SchemeOAuth2
	}
	return &bearer{cfg: cfg, challenge: "Bearer realm=" + strconv.Quote(cfg.Realm)}
}

// Challenges implements auth.Challenger.
func (b *bearer) Challenges() []string { return []string{b.challenge} }

// peekForm parses a form-encoded body of up to tokenreq.MaxBytes without
// consuming it: r.Body is put back to yield every byte for the handler. A
// body that is not a form, is larger, or does not parse gives ok false.
func peekForm(r *http.Request) (url.Values, bool) {
	if r.Method == http.MethodGet || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, false
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, false
	}
	prefix, complete, err := httpx.PeekBody(r, tokenreq.MaxBytes)
	if err != nil || !complete {
		return nil, false
	}
	vals, err := url.ParseQuery(string(prefix))
	return vals, err == nil
}

func (b *bearer) fail(reason auth.Reason, errCode, desc string) *auth.Error {
	return &auth.Error{Reason: reason, Scheme: b.cfg.Scheme, Message: desc,
		Challenge: b.challenge + `, error="` + errCode + `", error_description=` + strconv.Quote(desc)}
}

// Authenticate implements auth.Authenticator.
func (b *bearer) Authenticate(r *http.Request) (*auth.Result, error) {
	if auth.Decided(r) { // another scheme won: nothing of this one's to finish
		return nil, auth.ErrNoCredentials
	}
	var found []string
	if h := r.Header.Values("Authorization"); len(h) > 0 {
		if len(h[0]) >= 7 && strings.EqualFold(h[0][:7], "bearer ") {
			if len(h) > 1 {
				return nil, b.fail(auth.ReasonMalformed, "invalid_request", "more than one Authorization header")
			}
			found = append(found, strings.TrimSpace(h[0][7:]))
		}
	}
	if b.cfg.Query {
		if v, ok := r.URL.Query()["access_token"]; ok {
			found = append(found, v...)
		}
	}
	if b.cfg.FormBody {
		if vals, ok := peekForm(r); ok {
			found = append(found, vals["access_token"]...)
		}
	}
	switch {
	case len(found) == 0:
		return nil, auth.ErrNoCredentials
	case len(found) > 1: // RFC 6750 §2: one method only
		return nil, b.fail(auth.ReasonMalformed, "invalid_request", "the access token was sent more than once")
	case found[0] == "":
		return nil, b.fail(auth.ReasonMalformed, "invalid_request", "empty access token")
	}
	if err := auth.RefusePlainHTTP(r); err != nil {
		return nil, err
	}
	// RFC 8705: a stolen bound token is useless without the key.
	id, err := tokencheck.Check(r, b.cfg.Verifier, found[0], b.cfg.Scheme)
	if err != nil {
		e := auth.AsError(err)
		if e.Reason == auth.ReasonUnavailable {
			return nil, e
		}
		out := b.fail(e.Reason, "invalid_token", e.Text())
		out.User, out.Cause = e.User, e.Cause
		return nil, out
	}
	return &auth.Result{Identity: id}, nil
}

// RequireScope is a Policy that lets through only identities carrying every
// one of scopes; others get 403 with error="insufficient_scope" (RFC 6750
// §3.1). Combine it with other policies through auth.Policies.
func RequireScope(realm string, scopes ...string) auth.Policy {
	if realm == "" {
		realm = "gatehouse"
	}
	challenge := "Bearer realm=" + strconv.Quote(realm) + `, error="insufficient_scope", scope=` + strconv.Quote(strings.Join(scopes, " "))
	return auth.PolicyFunc(func(_ context.Context, id *auth.Identity, _ *http.Request) error {
		for _, s := range scopes {
			if id == nil || !id.HasScope(s) {
				user := ""
				if id != nil {
					user = id.Login()
				}
				return &auth.Error{Reason: auth.ReasonInsufficientScope, Scheme: auth.SchemeOAuth2, User: user,
					Message: "the token lacks scope " + strconv.Quote(s), Challenge: challenge}
			}
		}
		return nil
	})
}
