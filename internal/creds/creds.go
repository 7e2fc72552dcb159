// Package creds parses the credentials that several schemes read: the
// token68 of an HTTP Basic header and xCAT's userName/userPW query
// parameters. basic and token's issuing endpoint use the same parsers, so a
// credential is never accepted by one and refused by the other. Errors are
// *auth.Error with ReasonMalformed and no Scheme: the caller sets it.
package creds

import (
	"encoding/base64"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/gatehouse/gatehouse/auth"
)

// spaceOrBreak returns the first CR, LF, space or tab in s, a line break
// when s has one anywhere (its message is the more useful), or 0.
func spaceOrBreak(s string) byte {
	for _, c := range []byte{'\r', '\n', ' ', '\t'} { // IndexByte scans many bytes at a time
		if strings.IndexByte(s, c) >= 0 {
			return c
		}
	}
	return 0
}

func malformed(msg string) *auth.Error {
	return &auth.Error{Reason: auth.ReasonMalformed, Message: msg}
}

// ParseBasic decodes the token68 of a Basic Authorization header (the
// part after "Basic ") into user and password. The errors say exactly what is
// wrong, so that a client whose base64 library wraps lines learns why:
// line breaks or whitespace inside the encoded value, invalid base64, a
// decoded value with CR/LF (echo without -n), no colon, an empty user, NUL or
// other control characters in the user, NUL in the password, invalid UTF-8 in
// the user, or more than maxBytes of encoded credentials.
func ParseBasic(encoded string, maxBytes int) (user, password string, err *auth.Error) {
	encoded = strings.TrimLeft(encoded, " ")
	if len(encoded) > maxBytes {
		return "", "", malformed("Basic credentials longer than " + strconv.Itoa(maxBytes) + " bytes")
	}
	encoded = strings.TrimRight(encoded, " \t")
	if encoded == "" {
		return "", "", malformed("empty Basic credentials")
	}
	switch spaceOrBreak(encoded) {
	case '\r', '\n':
		return "", "", malformed("Basic credentials contain a line break: encode user:password as base64 on one line (for example base64 -w0)")
	case ' ', '\t':
		return "", "", malformed("Basic credentials contain whitespace, as a base64 encoder that wraps lines produces: encode user:password as base64 on one line (for example base64 -w0)")
	}
	enc := base64.StdEncoding
	if len(encoded)%4 != 0 && !strings.HasSuffix(encoded, "=") {
		enc = base64.RawStdEncoding // tolerate clients that drop the padding
	}
	var small [192]byte // most credentials decode here, leaving one copy: s
	raw := small[:]
	if n := enc.DecodedLen(len(encoded)); n > len(raw) {
		raw = make([]byte, n)
	}
	// Decode reads the string's bytes in place (it never writes or keeps
	// its source): a []byte conversion would copy them to the heap.
	n, derr := enc.Decode(raw, unsafe.Slice(unsafe.StringData(encoded), len(encoded)))
	if derr != nil {
		return "", "", malformed("Basic credentials are not valid base64")
	}
	s := string(raw[:n])
	clear(raw[:n]) // the password stays in s only
	if strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return "", "", malformed("decoded Basic credentials contain CR/LF: encode user:password without a trailing newline (echo -n)")
	}
	user, password, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", malformed("decoded Basic credentials have no colon between user and password")
	}
	if e := CheckUser(user); e != nil {
		return "", "", e
	}
	if strings.IndexByte(password, 0) >= 0 {
		return "", "", malformed("password contains a NUL byte")
	}
	return user, password, nil
}

// CheckUser refuses an empty user name, invalid UTF-8 and control
// characters, with a message that says which.
func CheckUser(user string) *auth.Error {
	if user == "" {
		return malformed("empty user name")
	}
	if !httpx.Printable(user) {
		if !utf8.ValidString(user) {
			return malformed("user name is not valid UTF-8")
		}
		return malformed("user name contains a control character")
	}
	return nil
}

// ParseQuery extracts user and password from a raw query string. Both empty
// with a nil error means the query carries no credentials. A user without a
// password (or the reverse), repeated parameters, bad escapes, control
// characters in the user and NUL in the password are malformed.
func ParseQuery(rawQuery, userParam string, pwParams []string) (user, pw string, err *auth.Error) {
	vals, perr := url.ParseQuery(rawQuery)
	if perr != nil {
		return "", "", malformed("query string is not valid URL encoding")
	}
	users, hasUser := vals[userParam]
	var pws []string
	hasPW := false
	for _, p := range pwParams {
		if v, ok := vals[p]; ok {
			pws, hasPW = v, true
			break
		}
	}
	switch {
	case !hasUser && !hasPW:
		return "", "", nil
	case !hasUser:
		return "", "", malformed("password given without " + userParam)
	case !hasPW:
		return "", "", malformed(userParam + " given without a password")
	case len(users) > 1 || len(pws) > 1:
		return "", "", malformed("credential parameters repeated")
	}
	user, pw = users[0], pws[0]
	if e := CheckUser(user); e != nil {
		return "", "", e
	}
	if strings.IndexByte(pw, 0) >= 0 {
		return "", "", malformed("password contains a NUL byte")
	}
	return user, pw, nil
}
