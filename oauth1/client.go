package oauth1

import (
	"context"
	"net/http"

	dghubble "github.com/dghubble/oauth1"
)

// SigningClientConfig describes a Go caller of a Foreman-style API.
type SigningClientConfig struct {
	ConsumerKey, ConsumerSecret string
	// User is sent in UserHeader (default "FOREMAN-USER"); with Signed it is
	// also added to the query as xoauth_requestor_id, so the signature covers
	// it (for servers in MapSigned mode).
	User       string
	UserHeader string
	Signed     bool
	// Base is the transport underneath (nil = http.DefaultTransport); put a
	// TLS configuration with your CA here.
	Base http.RoundTripper
}

// NewSigningClient returns an *http.Client that signs every request 1-legged with
// github.com/dghubble/oauth1 (HMAC-SHA1, as Satellite expects) and names the
// user the Foreman way.
func NewSigningClient(ctx context.Context, cfg SigningClientConfig) *http.Client {
	if cfg.Base != nil {
		ctx = context.WithValue(ctx, dghubble.HTTPClient, &http.Client{Transport: cfg.Base})
	}
	signed := dghubble.NewConfig(cfg.ConsumerKey, cfg.ConsumerSecret).Client(ctx, dghubble.NewToken("", ""))
	header := cfg.UserHeader
	if header == "" {
		header = "FOREMAN-USER"
	}
	return &http.Client{Transport: userTransport{next: signed.Transport, header: header, user: cfg.User, signed: cfg.Signed}}
}

type userTransport struct {
	next         http.RoundTripper
	header, user string
	signed       bool
}

func (t userTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.user == "" {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set(t.header, t.user)
	if t.signed {
		q := r.URL.Query()
		q.Set("xoauth_requestor_id", t.user)
		r.URL.RawQuery = q.Encode()
	}
	return t.next.RoundTrip(r)
}
