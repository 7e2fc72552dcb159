// Package httpx holds the small HTTP helpers that the core and several
// schemes share: credential parameters in a query, peeking at a body
// without consuming it, Retry-After values.
package httpx

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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
	return StripParams(rawQuery, IsCredentialParam)
}

// StripParams removes from a raw query string the parameters whose
// (unescaped) name drop matches, keeping the others in their order and
// encoding. Parameters are separated by "&" and also by ";", as some
// upstreams (Perl's CGI.pm) and parsers split them: one after a ";" is
// removed too.
func StripParams(rawQuery string, drop func(name string) bool) string {
	if rawQuery == "" {
		return ""
	}
	var kept []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		var pieces []string
		for piece := range strings.SplitSeq(part, ";") {
			if piece != "" && !drop(paramName(piece)) {
				pieces = append(pieces, piece)
			}
		}
		if len(pieces) > 0 {
			kept = append(kept, strings.Join(pieces, ";"))
		}
	}
	return strings.Join(kept, "&")
}

// HasParam reports whether a raw query string has a parameter whose
// (unescaped) name match matches, separated by "&" or ";" (see
// StripParams).
func HasParam(rawQuery string, match func(name string) bool) bool {
	for part := range strings.SplitSeq(rawQuery, "&") {
		for piece := range strings.SplitSeq(part, ";") {
			if piece != "" && match(paramName(piece)) {
				return true
			}
		}
	}
	return false
}

// paramName is a query piece's name, unescaped and trimmed.
func paramName(piece string) string {
	name, _, _ := strings.Cut(piece, "=")
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	return strings.TrimSpace(name)
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

// UnavailableRetryAfter is the Retry-After sent with a 503 (a store that
// could not answer) when the failure names no better time.
const UnavailableRetryAfter = 2 * time.Second

// RetryAfterHeader is the Retry-After value, in whole seconds rounded up,
// for a response with status and the wait a failure asked for: the wait on
// 429 and 503 (UnavailableRetryAfter when a 503 names none), "" otherwise.
func RetryAfterHeader(status int, wait time.Duration) string {
	switch {
	case status == http.StatusServiceUnavailable && wait <= 0:
		wait = UnavailableRetryAfter
	case status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable, wait <= 0:
		return ""
	}
	return strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10)
}

// Problem is an RFC 9457 problem details body (application/problem+json)
// as auth's default responder and the gateway write it: type
// "about:blank", title the status text, status, detail, and the extension
// members "reason" (an auth.Reason, or "upstream") and "scheme".
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Reason string `json:"reason"`
	Scheme string `json:"scheme,omitempty"`
}

// WriteFailure writes a failure's JSON body with the headers every error
// dialect shares: its content type, no caching, and Retry-After on 429 and
// 503 (see RetryAfterHeader).
func WriteFailure(w http.ResponseWriter, status int, retryAfter time.Duration, contentType string, body any) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	if v := RetryAfterHeader(status, retryAfter); v != "" {
		h.Set("Retry-After", v)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// ClientAddr is the host part of r.RemoteAddr: the client address used for
// throttling. Behind a proxy, set the pipeline's ClientAddr hook instead.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Printable reports whether s is valid UTF-8 without control characters
// (C0 or DEL): what every scheme demands of a login, a client id or a
// token's name before looking it up.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
