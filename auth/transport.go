package auth

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// IsSecure reports whether r arrived over TLS. With trustForwarded it also
// believes a TLS-terminating proxy's "X-Forwarded-Proto: https"; only set that
// when every request comes through such a proxy, since clients can send the
// header themselves.
func IsSecure(r *http.Request, trustForwarded bool) bool {
	if r.TLS != nil {
		return true
	}
	return trustForwarded && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// RedirectHTTPS returns a handler for the plain-HTTP listener that sends every
// request to the same path on https://host[:httpsPort] (xCAT's default). GET
// and HEAD get 301, other methods 308 so that clients keep the method and
// body. httpsPort "" or "443" leaves the port out. Credential parameters
// (StripQueryCredentials) are left out of the target, and the redirect is
// sent with Cache-Control: no-store, so no cache keeps a password.
func RedirectHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "missing Host header", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]" // IPv6 literal
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), httpsPort)
		}
		target := "https://" + host + r.URL.EscapedPath()
		if q := StripQueryCredentials(r.URL.RawQuery); q != "" {
			target += "?" + q
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		// A cached redirect would replay forever; and the target never
		// carries a credential that arrived in the clear.
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, code)
	})
}

// CredentialParams are the query parameters that carry credentials in the
// schemes of this module: xCAT's userName/userPW/password and RFC 6750's
// access_token; every parameter starting with "oauth_" counts too.
var CredentialParams = []string{"userName", "userPW", "password", "access_token"}

// IsCredentialParam reports whether a query parameter name carries a
// credential (see CredentialParams).
func IsCredentialParam(name string) bool {
	return strings.HasPrefix(name, "oauth_") || slices.Contains(CredentialParams, name)
}

// StripQueryCredentials removes the credential parameters (see
// CredentialParams) from a raw query string, keeping the others in their
// order and encoding.
func StripQueryCredentials(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var kept []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if part != "" && !IsCredentialParam(name) {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "&")
}

// PeekBody reads up to limit bytes of r.Body for an authenticator that must
// look at the body (form-encoded credentials, body hashes) and puts back a
// body that yields every byte, what was read and then the rest, so the
// handler reads it whole. complete is false when the body is longer than
// limit (prefix then holds the first limit bytes).
func PeekBody(r *http.Request, limit int64) (prefix []byte, complete bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true, nil
	}
	prefix, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(prefix), rest), rest}
	if err != nil {
		return nil, false, err
	}
	if int64(len(prefix)) > limit {
		return prefix[:limit], false, nil
	}
	return prefix, true, nil
}
