package oauthsig

import (
	"net/url"
	"slices"
	"strings"
	"unsafe"
)

// Encoded is one request parameter in its RFC 5849 §3.6 encoding: the form
// Encode gives, which is the form a signature's base string is built from.
// A verifier keeps parameters encoded: what a client sent is, nearly
// always, that form already, so it is used as sent, with no decoding, no
// copy and no second pass to encode it again. Two encodings are equal
// exactly when the values they stand for are (Encode is one-to-one).
type Encoded struct{ Name, Value string }

// canonical reports whether s is the encoding Encode gives for the bytes
// it stands for: unreserved bytes, and "%" with two upper-case hex digits
// for every other byte (never for an unreserved one).
func canonical(s string) bool {
	for i := 0; i < len(s); i++ {
		if unreservedTable[s[i]] {
			continue
		}
		if s[i] != '%' || i+2 >= len(s) {
			return false
		}
		hi, lo := upperHexValue(s[i+1]), upperHexValue(s[i+2])
		if hi < 0 || lo < 0 || unreservedTable[byte(hi<<4|lo)] {
			return false
		}
		i += 2
	}
	return true
}

// upperHexValue is the value of an upper-case hex digit, or -1.
func upperHexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// encodeRaw is the encoding of the value raw stands for, raw being a
// percent-encoded header value (form: a form's or query's, where "+" is a
// space). It is raw itself when raw is already in Encode's form.
func encodeRaw(raw string, form bool) (string, error) {
	if canonical(raw) {
		return raw, nil
	}
	unescape := url.PathUnescape
	if form {
		unescape = url.QueryUnescape
	}
	v, err := unescape(raw)
	if err != nil {
		return "", err
	}
	return Encode(v), nil
}

// Decode is the value an encoding stands for (enc itself when it has no
// "%"). enc must come from this package's Encoded parsers or Encode.
func Decode(enc string) string {
	i := strings.IndexByte(enc, '%')
	if i < 0 {
		return enc
	}
	v, ok := AppendDecoded(append(make([]byte, 0, len(enc)), enc[:i]...), enc[i:])
	if !ok { // not an encoding of ours: never the case for a parsed parameter
		return enc
	}
	return unsafe.String(unsafe.SliceData(v), len(v)) // v is never written again
}

// AppendDecoded appends the bytes enc stands for to dst, without a string
// of their own (for a signature, decoded once more from base64 at once).
// ok is false when enc is not a valid percent-encoding.
func AppendDecoded(dst []byte, enc string) (out []byte, ok bool) {
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c == '%' {
			if i+2 >= len(enc) {
				return dst, false
			}
			hi, lo := upperHexValue(enc[i+1]), upperHexValue(enc[i+2])
			if hi < 0 || lo < 0 {
				return dst, false
			}
			c, i = byte(hi<<4|lo), i+2
		}
		dst = append(dst, c)
	}
	return dst, true
}

// AppendHeaderEncoded is ParseHeader appending to dst (a caller's buffer)
// with each parameter in its encoding (see Encoded): a value as it was sent
// when that is Encode's form.
func AppendHeaderEncoded(dst []Encoded, h string) (params []Encoded, ok bool, err error) {
	params = dst
	s, ok := headerParams(h)
	if !ok {
		return nil, false, nil
	}
	for s != "" {
		var name, raw string
		var plain bool
		if name, raw, plain, s, err = nextHeaderParam(s); err != nil {
			return nil, true, err
		}
		v, err := encodeRaw(raw, false)
		if err != nil {
			return nil, true, errHeader("bad percent-encoding in " + name)
		}
		if cap(params) == 0 {
			params = make([]Encoded, 0, strings.Count(h, ",")+1)
		}
		// A header's names are taken as they stand (ParseHeader does not
		// decode them either); the usual ones need no encoding.
		if !plain {
			name = Encode(name)
		}
		params = append(params, Encoded{name, v})
	}
	return params, true, nil
}

// AppendFormEncoded is ParseForm appending to dst (a caller's buffer) and
// keeping each name and value in its encoding (see Encoded).
func AppendFormEncoded(dst []Encoded, s string) ([]Encoded, error) {
	for s != "" {
		part := s
		if i := strings.IndexByte(s, '&'); i >= 0 {
			part, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err := encodeRaw(name, true)
		if err != nil {
			return nil, err
		}
		v, err := encodeRaw(value, true)
		if err != nil {
			return nil, err
		}
		dst = append(dst, Encoded{n, v})
	}
	return dst, nil
}

// AppendBaseStringEncoded appends BaseString(method, BaseURI(scheme, host,
// escapedPath), the parameters) to dst: the verifier's path, with the base
// URI's parts encoded straight into dst. It sorts params in place: their
// normalization (RFC 5849 §3.4.1.3.2) is sorting the encodings by byte
// order and joining them, and the base string encodes that once more,
// which changes only "%", "=" and "&".
func AppendBaseStringEncoded(dst []byte, method, scheme, host, escapedPath string, params []Encoded) []byte {
	scheme, host, escapedPath = baseURIParts(scheme, host, escapedPath)
	size := len(method) + 3*(len(scheme)+len(host)+len(escapedPath)) + 16
	for _, p := range params {
		size += 2*(len(p.Name)+len(p.Value)) + 6
	}
	dst = slices.Grow(dst, size)
	dst = appendUpper(dst, method)
	dst = append(dst, '&')
	dst = appendEncoded(dst, scheme)
	dst = append(dst, "%3A%2F%2F"...)
	dst = appendEncoded(dst, host)
	dst = appendEncoded(dst, escapedPath)
	dst = append(dst, '&')
	sortEncoded(params)
	for i, p := range params {
		if i > 0 {
			dst = append(dst, "%26"...)
		}
		dst = appendEncodingEncoded(dst, p.Name)
		dst = append(dst, "%3D"...)
		dst = appendEncodingEncoded(dst, p.Value)
	}
	return dst
}

// appendEncodingEncoded appends the encoding of enc, itself an encoding:
// its only byte that is not unreserved is "%", which becomes "%25".
func appendEncodingEncoded(dst []byte, enc string) []byte {
	for {
		i := strings.IndexByte(enc, '%')
		if i < 0 {
			return append(dst, enc...)
		}
		dst = append(dst, enc[:i]...)
		dst = append(dst, "%25"...)
		enc = enc[i+1:]
	}
}

// sortEncoded sorts by name, then value, in byte order.
func sortEncoded(ps []Encoded) {
	sortFew(ps, func(a, b Encoded) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
}
