package oauth2

import (
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// TokenRequest is a parsed token-endpoint request body (RFC 6749 §4.3.2,
// §6 and §2.3.1).
type TokenRequest struct {
	GrantType    string
	Username     string
	Password     string
	Scope        []string // space-separated in the request
	RefreshToken string
	ClientID     string
	ClientSecret string
}

// MaxRequestBytes bounds a token request body.
const MaxRequestBytes = 16 << 10

// ParseTokenRequest parses an application/x-www-form-urlencoded token
// request. It returns an *auth.Error with Code invalid_request for a body that is
// not valid form encoding, repeats a parameter (RFC 6749 §3.2: "MUST NOT be
// included more than once"), is too large, or carries control characters or
// invalid UTF-8 in a name, or NUL in a secret.
func ParseTokenRequest(body string) (TokenRequest, *auth.Error) {
	var tr TokenRequest
	if len(body) > MaxRequestBytes {
		return tr, errf(InvalidRequest, "request body too large")
	}
	vals, err := url.ParseQuery(body)
	if err != nil {
		return tr, errf(InvalidRequest, "request body is not valid form encoding")
	}
	for name, v := range vals {
		if len(v) > 1 {
			return tr, errf(InvalidRequest, "parameter "+strings.ToValidUTF8(name, "?")+" given more than once")
		}
	}
	tr.GrantType = vals.Get("grant_type")
	tr.Username = vals.Get("username")
	tr.Password = vals.Get("password")
	tr.RefreshToken = vals.Get("refresh_token")
	tr.ClientID = vals.Get("client_id")
	tr.ClientSecret = vals.Get("client_secret")
	if s := vals.Get("scope"); s != "" {
		tr.Scope = strings.Fields(s)
	}
	for _, s := range []string{tr.Username, tr.ClientID, tr.GrantType} {
		if !auth.Printable(s) {
			return tr, errf(InvalidRequest, "control characters or invalid UTF-8 in a parameter")
		}
	}
	if strings.IndexByte(tr.Password, 0) >= 0 || strings.IndexByte(tr.ClientSecret, 0) >= 0 {
		return tr, errf(InvalidRequest, "NUL byte in a secret")
	}
	return tr, nil
}
