package oauth2

import (
	"context"
	"errors"
	"net/http"
	"sync"

	xoauth2 "golang.org/x/oauth2"
)

// PasswordClientConfig describes a Go caller of an oVirt-style API.
type PasswordClientConfig struct {
	TokenURL               string // e.g. https://engine/ovirt-engine/sso/oauth/token
	ClientID, ClientSecret string // optional
	Username, Password     string // e.g. admin@internal
	Scopes                 []string
	// AuthStyle as in golang.org/x/oauth2; the zero value auto-detects.
	AuthStyle xoauth2.AuthStyle
	// Base is the transport underneath (nil = http.DefaultTransport); put a
	// TLS configuration with your CA here.
	Base http.RoundTripper
}

// NewPasswordClient gets a token with the password grant (x/oauth2's
// PasswordCredentialsToken) and returns an *http.Client that sends it as a
// bearer token. Since there is no refresh token, a 401 makes the client get a
// new token with the password and retry the request once (requests with a
// body are retried only when it can be replayed, i.e. Request.GetBody is set,
// as http.NewRequest does for common body types).
func NewPasswordClient(ctx context.Context, cfg PasswordClientConfig) (*http.Client, error) {
	base := cfg.Base
	if base == nil {
		base = http.DefaultTransport
	}
	ctx = context.WithValue(ctx, xoauth2.HTTPClient, &http.Client{Transport: base})
	t := &renewing{cfg: cfg, ctx: ctx, base: base, conf: &xoauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: cfg.Scopes,
		Endpoint: xoauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: cfg.AuthStyle},
	}}
	if _, err := t.renew(nil); err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

type renewing struct {
	cfg  PasswordClientConfig
	ctx  context.Context
	base http.RoundTripper
	conf *xoauth2.Config

	mu  sync.Mutex
	tok *xoauth2.Token
}

// renew gets a new token unless another goroutine already replaced stale.
func (t *renewing) renew(stale *xoauth2.Token) (*xoauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok != stale {
		return t.tok, nil
	}
	tok, err := t.conf.PasswordCredentialsToken(t.ctx, t.cfg.Username, t.cfg.Password)
	if err != nil {
		return nil, err
	}
	t.tok = tok
	return tok, nil
}

func (t *renewing) current() (*xoauth2.Token, error) {
	t.mu.Lock()
	tok := t.tok
	t.mu.Unlock()
	if tok.Valid() {
		return tok, nil
	}
	return t.renew(tok)
}

func (t *renewing) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.current()
	if err != nil {
		return nil, err
	}
	resp, err := t.send(r, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if r.Body != nil && r.Body != http.NoBody && r.GetBody == nil {
		return resp, nil // cannot replay the body
	}
	fresh, err := t.renew(tok)
	if err != nil {
		return resp, nil // keep the server's 401
	}
	resp.Body.Close()
	if r.GetBody != nil {
		body, err := r.GetBody()
		if err != nil {
			return nil, errors.Join(errors.New("oauth2: replaying the request body"), err)
		}
		r = r.Clone(r.Context())
		r.Body = body
	}
	return t.send(r, fresh)
}

func (t *renewing) send(r *http.Request, tok *xoauth2.Token) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	tok.SetAuthHeader(r2)
	return t.base.RoundTrip(r2)
}
