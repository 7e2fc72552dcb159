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

func appendEncoded[T string | []byte](dst []byte, s T) []byte { return appendEscaped(dst, s, "%") }

// upperHex are the digits of a percent-encoding (RFC 5849 §3.6: upper case).
const upperHex = "0123456789ABCDEF"

// appendEscaped appends s with every byte but the unreserved ones written
// as pct and two hex digits: "%" encodes once; "%25" encodes the encoding
// (only its "%" changes).
func appendEscaped[T string | []byte](dst []byte, s T, pct string) []byte {
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
		dst = append(dst, pct...)
		dst = append(dst, upperHex[c>>4], upperHex[c&15])
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
	s, ok := headerParams(h)
	if !ok {
		return nil, false, nil
	}
	for s != "" {
		var name, raw string
		if name, raw, _, s, err = nextHeaderParam(s); err != nil {
			return nil, true, err
		}
		value := raw
		if strings.IndexByte(raw, '%') >= 0 {
			var derr error
			if value, derr = url.PathUnescape(raw); derr != nil {
				return nil, true, errHeader("bad percent-encoding in " + name)
			}
		}
		params = append(params, Param{name, value})
	}
	return params, true, nil
}

// headerParams is the parameter list of an "OAuth …" Authorization header
// value; ok is false for another scheme.
func headerParams(h string) (s string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "OAuth") {
		return "", false
	}
	return trimSpace(rest), true
}

// nextHeaderParam parses the first name=value of a header's parameter list
// s: the name as it stands (plain: of unreserved bytes only), the value as
// sent (still percent-encoded, without its quotes), and what follows the
// comma after it.
func nextHeaderParam(s string) (name, raw string, plain bool, rest string, err error) {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return "", "", false, "", errHeader("expected name=value")
	}
	name = trimSpace(s[:eq])
	bad, plain := checkName(name)
	if name == "" || bad {
		return "", "", false, "", errHeader("bad parameter name")
	}
	s = skipSpace(s[eq+1:])
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", "", false, "", errHeader("unterminated quoted value")
		}
		raw, s = s[1:1+end], s[2+end:]
	} else {
		end := 0
		for end < len(s) && s[end] != ',' && s[end] != ' ' && s[end] != '\t' {
			end++
		}
		raw, s = s[:end], s[end:]
	}
	s = skipSpace(s)
	if s == "" {
		return name, raw, plain, "", nil
	}
	if s[0] != ',' {
		return "", "", false, "", errHeader("expected a comma between parameters")
	}
	return name, raw, plain, skipSpace(s[1:]), nil
}

// checkName reports whether a header parameter name has a space, tab,
// quote or comma (bad), or else only unreserved bytes (plain), in one pass.
func checkName(name string) (bad, plain bool) {
	plain = true
	for i := 0; i < len(name); i++ {
		switch nameBytes[name[i]] {
		case nameRefused:
			return true, false
		case nameOther:
			plain = false
		}
	}
	return false, plain
}

// Classes of a header parameter name's bytes.
const (
	nameOther uint8 = iota
	nameUnreserved
	nameRefused // space, tab, quote, comma
)

var nameBytes = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case unreserved(byte(c)):
			t[c] = nameUnreserved
		case c == ' ' || c == '\t' || c == '"' || c == ',':
			t[c] = nameRefused
		}
	}
	return t
}()

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
	return string(appendNormalized(nil, params, false))
}

// appendNormalized sorts the parameters by their encodings and appends
// them joined: encoded once for the normalized string, or twice for the
// base string, which encodes the normalized string again. Nothing is
// encoded into a string of its own: the sort compares encodings as it
// walks them, and the parameters are sorted on the stack for the usual
// dozen or so.
func appendNormalized(dst []byte, params []Param, twice bool) []byte {
	var small [16]Param
	sorted := append(small[:0], params...)
	sortParams(sorted)
	sep, eq, enc := "&", "=", appendEncoded[string]
	if twice {
		sep, eq, enc = "%26", "%3D", appendEncodedTwice
	}
	for i, p := range sorted {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = enc(dst, p.Name)
		dst = append(dst, eq...)
		dst = enc(dst, p.Value)
	}
	return dst
}

// appendEncodedTwice appends the encoding of s's encoding: an unreserved
// byte stays, any other byte becomes %25 and its two hex digits.
func appendEncodedTwice(dst []byte, s string) []byte { return appendEscaped(dst, s, "%25") }

// sortParams sorts by encoded name, then encoded value (byte order, as
// RFC 5849 §3.4.1.3.2 sorts).
func sortParams(ps []Param) {
	cmp := func(a, b Param) int {
		if c := compareEncoded(a.Name, b.Name); c != 0 {
			return c
		}
		return compareEncoded(a.Value, b.Value)
	}
	sortFew(ps, cmp)
}

// sortFew sorts by insertion the few parameters a request has, where it
// beats a general sort, and with slices.SortFunc beyond 16.
func sortFew[P any](ps []P, cmp func(a, b P) int) {
	if len(ps) > 16 {
		slices.SortFunc(ps, cmp)
		return
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && cmp(ps[j], ps[j-1]) < 0; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// compareEncoded compares Encode(a) and Encode(b) without building them.
func compareEncoded(a, b string) int {
	i, k, j, l := 0, 0, 0, 0 // byte of a, position in its encoding; the same for b
	for i < len(a) && j < len(b) {
		ca, na := encodedAt(a[i], k)
		cb, nb := encodedAt(b[j], l)
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
		if k++; k == na {
			i, k = i+1, 0
		}
		if l++; l == nb {
			j, l = j+1, 0
		}
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return 0
}

// encodedAt is the k-th byte of c's encoding and the encoding's length.
func encodedAt(c byte, k int) (byte, int) {
	if unreservedTable[c] {
		return c, 1
	}
	switch k {
	case 0:
		return '%', 3
	case 1:
		return upperHex[c>>4], 3
	}
	return upperHex[c&15], 3
}

// BaseURI is RFC 5849 §3.4.1.2: scheme and host in lower case, the port only
// when it is not the scheme's default, then the path (never the query).
func BaseURI(scheme, host, escapedPath string) string {
	scheme, host, escapedPath = baseURIParts(scheme, host, escapedPath)
	return scheme + "://" + host + escapedPath
}

// baseURIParts are BaseURI's parts, normalised.
func baseURIParts(scheme, host, escapedPath string) (string, string, string) {
	scheme, host = asciiLower(scheme), asciiLower(host)
	if h, port, ok := cutPort(host); ok && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
	}
	if escapedPath == "" {
		escapedPath = "/"
	}
	return scheme, host, escapedPath
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

// appendUpper appends s in ASCII upper case.
func appendUpper(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// asciiLower is strings.ToLower, without its work when s is lower-case
// ASCII already, as a scheme and a host usually are.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// BaseString is RFC 5849 §3.4.1.1: METHOD&encoded base URI&encoded
// normalized parameters.
func BaseString(method, baseURI string, params []Param) string {
	dst := appendUpper(nil, method)
	dst = append(dst, '&')
	dst = appendEncoded(dst, baseURI)
	dst = append(dst, '&')
	return string(appendNormalized(dst, params, true))
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
