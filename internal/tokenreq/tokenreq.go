// Package tokenreq parses OAuth 2 token-endpoint request bodies (RFC 6749
// §4.3.2, §6, §2.3.1) for the oauth2 package.
package tokenreq

import (
	"github.com/gatehouse/gatehouse/internal/httpx"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// Request is a parsed token-endpoint request body (RFC 6749 §4.3.2,
// §6 and §2.3.1).
type Request struct {
	GrantType    string
	Username     string
	Password     string
	Scope        []string // space-separated in the request
	RefreshToken string
	ClientID     string
	ClientSecret string
	// Token and TokenTypeHint are the revocation and introspection
	// requests' parameters (RFC 7009 §2.1, RFC 7662 §2.1).
	Token, TokenTypeHint string
}

// MaxBytes bounds a token request body.
const MaxBytes = 16 << 10

// Parse parses an application/x-www-form-urlencoded token
// request. It returns an *auth.Error with Code invalid_request for a body that is
// not valid form encoding, repeats a parameter (RFC 6749 §3.2: "MUST NOT be
// included more than once"), is too large, or carries control characters or
// invalid UTF-8 in a name, or NUL in a secret.
func Parse(body string) (Request, *auth.Error) {
	var tr Request
	if len(body) > MaxBytes {
		return tr, invalid("request body too large")
	}
	vals, err := url.ParseQuery(body)
	if err != nil {
		return tr, invalid("request body is not valid form encoding")
	}
	for name, v := range vals {
		if len(v) > 1 {
			return tr, invalid("parameter " + strings.ToValidUTF8(name, "?") + " given more than once")
		}
	}
	tr.GrantType = vals.Get("grant_type")
	tr.Username = vals.Get("username")
	tr.Password = vals.Get("password")
	tr.RefreshToken = vals.Get("refresh_token")
	tr.ClientID = vals.Get("client_id")
	tr.ClientSecret = vals.Get("client_secret")
	tr.Token, tr.TokenTypeHint = vals.Get("token"), vals.Get("token_type_hint")
	if s := vals.Get("scope"); s != "" {
		tr.Scope = strings.Fields(s)
	}
	for _, s := range []string{tr.Username, tr.ClientID, tr.GrantType} {
		if !httpx.Printable(s) {
			return tr, invalid("control characters or invalid UTF-8 in a parameter")
		}
	}
	if strings.IndexByte(tr.Password, 0) >= 0 || strings.IndexByte(tr.ClientSecret, 0) >= 0 || !httpx.Printable(tr.TokenTypeHint) {
		return tr, invalid("NUL byte in a secret")
	}
	return tr, nil
}

// invalid is RFC 6749's invalid_request (400).
func invalid(desc string) *auth.Error {
	return &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeOAuth2, Code: "invalid_request", Message: desc}
}
