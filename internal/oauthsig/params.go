// Package oauthsig is OAuth 1.0a's signature arithmetic (RFC 5849 §3.4):
// percent-encoding, the Authorization header and form parsers, parameter
// normalisation, the base string and HMAC signatures. The oauth1 package
// verifies with it; tests and clients sign with it.
package oauthsig

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Param is one request parameter, decoded.
type Param struct{ Name, Value string }

// Encode percent-encodes s as RFC 5849 §3.6 requires: every byte except the
// unreserved characters ALPHA, DIGIT, "-", ".", "_" and "~" becomes %XX with
// upper-case hex digits.
func Encode(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreservedTable[s[i]] {
			return string(appendEncoded(make([]byte, 0, len(s)+16), s))
		}
	}
	return s
}

func appendEncoded[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && unreservedTable[s[j]] {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			break
		}
		c := s[j]
		dst = append(dst, '%', hex[c>>4], hex[c&15])
		i = j + 1
	}
	return dst
}

var unreservedTable = func() (t [256]bool) {
	for c := range 256 {
		t[c] = unreserved(byte(c))
	}
	return t
}()

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// ParseHeader parses the value of an "Authorization: OAuth …" header into
// its parameters (percent-decoded). Values may be quoted or not, as
// Satellite's manual shows both; "realm" is returned like the others and is
// left out of signatures by NormalizeParams' caller. ok is false when the
// header is not of the OAuth scheme at all.
func ParseHeader(h string) (params []Param, ok bool, err error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "OAuth") {
		return nil, false, nil
	}
	s := trimSpace(rest)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, true, errHeader("expected name=value")
		}
		name := trimSpace(s[:eq])
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r == ' ' || r == '\t' || r == '"' || r == ',' }) >= 0 {
			return nil, true, errHeader("bad parameter name")
		}
		s = skipSpace(s[eq+1:])
		var raw string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, true, errHeader("unterminated quoted value")
			}
			raw, s = s[1:1+end], s[2+end:]
		} else {
			end := 0
			for end < len(s) && s[end] != ',' && s[end] != ' ' && s[end] != '\t' {
				end++
			}
			raw, s = s[:end], s[end:]
		}
		value := raw
		if strings.IndexByte(raw, '%') >= 0 {
			var derr error
			if value, derr = url.PathUnescape(raw); derr != nil {
				return nil, true, errHeader("bad percent-encoding in " + name)
			}
		}
		if params == nil {
			params = make([]Param, 0, strings.Count(h, ",")+1)
		}
		params = append(params, Param{name, value})
		s = skipSpace(s)
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, true, errHeader("expected a comma between parameters")
		}
		s = skipSpace(s[1:])
	}
	return params, true, nil
}

func skipSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimSpace(s string) string {
	s = skipSpace(s)
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

type headerError string

func (e headerError) Error() string { return "malformed OAuth Authorization header: " + string(e) }

func errHeader(msg string) error { return headerError(msg) }

// ParseForm decodes an application/x-www-form-urlencoded string (a query or
// a form body) into parameters in their order, keeping repeats, as
// RFC 5849 §3.4.1.3.1 requires ("+" is a space).
func ParseForm(s string) ([]Param, error) {
	var out []Param
	for part := range strings.SplitSeq(s, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			return nil, err
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return nil, err
		}
		out = append(out, Param{n, v})
	}
	return out, nil
}

// NormalizeParams is RFC 5849 §3.4.1.3.2: encode names and values, sort by
// name then value (byte order), join as name=value pairs with "&". Callers
// leave out oauth_signature and realm.
func NormalizeParams(params []Param) string {
	return string(appendNormalized(nil, params, appendEncodedOnce))
}

// appendEncodedOnce appends s as it is (already encoded).
func appendEncodedOnce(dst []byte, s string) []byte { return append(dst, s...) }

// appendEncodedTwice appends the encoding of s, which is itself encoded:
// only its "%" needs encoding again.
func appendEncodedTwice(dst []byte, s string) []byte { return appendEncoded(dst, s) }

// appendNormalized sorts the encoded parameters and appends them joined,
// each part through emit: appendEncodedOnce for the normalized string,
// appendEncodedTwice for the base string, which encodes it once more. The
// parameters' encodings live on the stack for the usual dozen or so.
func appendNormalized(dst []byte, params []Param, emit func([]byte, string) []byte) []byte {
	var small [16]Param
	enc := small[:0]
	if len(params) > len(small) {
		enc = make([]Param, 0, len(params))
	}
	for _, p := range params {
		enc = append(enc, Param{Encode(p.Name), Encode(p.Value)})
	}
	slices.SortFunc(enc, func(a, b Param) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	for i, p := range enc {
		if i > 0 {
			dst = emit(dst, "&")
		}
		dst = emit(dst, p.Name)
		dst = emit(dst, "=")
		dst = emit(dst, p.Value)
	}
	return dst
}

// BaseURI is RFC 5849 §3.4.1.2: scheme and host in lower case, the port only
// when it is not the scheme's default, then the path (never the query).
func BaseURI(scheme, host, escapedPath string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if h, port, ok := cutPort(host); ok && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
	}
	if escapedPath == "" {
		escapedPath = "/"
	}
	return scheme + "://" + host + escapedPath
}

// cutPort splits "host:port" (and "[v6]:port") without touching a bare IPv6
// literal.
func cutPort(host string) (h, port string, ok bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.LastIndexByte(host, ']') > i {
		return host, "", false
	}
	return host[:i], host[i+1:], true
}

// BaseString is RFC 5849 §3.4.1.1: METHOD&encoded base URI&encoded
// normalized parameters.
func BaseString(method, baseURI string, params []Param) string {
	return string(AppendBaseString(nil, method, baseURI, params))
}

// AppendBaseString appends BaseString's result to dst (the verifier's
// allocation-light path: the normalized parameters are encoded straight
// into dst, with no string of their own).
func AppendBaseString(dst []byte, method, baseURI string, params []Param) []byte {
	dst = slices.Grow(dst, len(method)+3*len(baseURI)+2+64*len(params))
	for i := 0; i < len(method); i++ { // upper case, without a copy
		c := method[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	dst = append(dst, '&')
	dst = appendEncoded(dst, baseURI)
	dst = append(dst, '&')
	return appendNormalized(dst, params, appendEncodedTwice)
}

// macs keeps keyed HMAC states for reuse: most traffic comes from few
// consumers, and keying an HMAC costs as much as the MAC of a short request.
var macs sync.Pool // *keyedMAC

type keyedMAC struct {
	method, key string
	mac         hash.Hash
	sum         [sha256.Size]byte
}

// HMACSum is the raw HMAC-SHA1 or HMAC-SHA256 (method) of a base string
// under key (the encoded consumer secret, "&", the encoded token secret).
func HMACSum(method string, base []byte, key string) []byte {
	var out []byte
	withMAC(method, base, key, func(sum []byte) { out = slices.Clone(sum) })
	return out
}

// HMACEqual reports, in constant time, whether sig is the HMAC-SHA1 or
// HMAC-SHA256 (method) of base under key, without copying the MAC.
func HMACEqual(method string, base []byte, key string, sig []byte) bool {
	ok := false
	withMAC(method, base, key, func(sum []byte) { ok = hmac.Equal(sum, sig) })
	return ok
}

// withMAC computes the MAC with a pooled keyed state and hands it to use
// before the state goes back to the pool.
func withMAC(method string, base []byte, key string, use func(sum []byte)) {
	km, _ := macs.Get().(*keyedMAC)
	if km == nil || km.method != method || km.key != key {
		h := sha1.New
		if method == "HMAC-SHA256" {
			h = sha256.New
		}
		km = &keyedMAC{method: method, key: key, mac: hmac.New(h, []byte(key))}
	} else {
		km.mac.Reset()
	}
	km.mac.Write(base)
	use(km.mac.Sum(km.sum[:0]))
	macs.Put(km)
}

// HMACSignature is the base64 HMAC-SHA1 or HMAC-SHA256 signature of a
// signature base string (RFC 5849 §3.4.2); tokenSecret is empty for
// 1-legged requests.
func HMACSignature(method, base, consumerSecret, tokenSecret string) string {
	return base64.StdEncoding.EncodeToString(HMACSum(method, []byte(base), Encode(consumerSecret)+"&"+Encode(tokenSecret)))
}
