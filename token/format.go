package token

import (
	"crypto/rand"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
	"unsafe"
)

// Token prefixes, one per kind, so that people, logs and secret scanners can
// tell what a leaked string is. Neither collides with GitHub's gh?_ family.
const (
	PrefixAccess  = "gate_at_"  // expiring access token (X-Auth-Token, Bearer)
	PrefixPAT     = "gate_pat_" // personal access token (the Basic password)
	PrefixRefresh = "gate_rt_"  // OAuth 2 refresh token
)

// The body after the prefix: 43 base62 characters carrying 256 random bits,
// then 6 base62 characters of CRC-32 (IEEE) over prefix and body, so that a
// mistyped or truncated token is refused without a store lookup. A whole
// access or refresh token is 57 characters, a PAT 58; all match
// `gate_(at|pat|rt)_[0-9A-Za-z]{49}`.
const (
	randomLen   = 43
	checksumLen = 6
	bodyLen     = randomLen + checksumLen
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// errFormat is returned by parse for a string that is not a well-formed
// gatehouse token: unknown prefix, wrong length or characters, bad checksum.
var errFormat = errors.New("token: not a well-formed gatehouse token")

// errChecksum is returned by parse for a token whose checksum does not match:
// a mistyped or altered token. It wraps errFormat.
var errChecksum = errors.Join(errFormat, errors.New("token: checksum mismatch"))

// generate makes a new secret with prefix (PrefixAccess or PrefixPAT).
func generate(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	body := new(big.Int).SetBytes(raw).Text(62)
	body = strings.Repeat("0", randomLen-len(body)) + body
	s := prefix + body
	return s + checksum(s), nil
}

// crc32String is crc32.ChecksumIEEE over a string without copying it: the
// library's table-slicing (and, where the CPU has it, carry-less
// multiplication) code reads the string's bytes in place; it never writes
// or keeps them. A byte-at-a-time loop showed in request profiles.
func crc32String(s string) uint32 {
	return crc32.ChecksumIEEE(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func checksum(s string) string {
	n := crc32String(s)
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out[:])
}

// parse checks the shape of secret and returns its prefix. It never touches a
// store, so it is safe to run on anything a client sends.
func parse(secret string) (prefix string, err error) {
	switch {
	case strings.HasPrefix(secret, PrefixAccess):
		prefix = PrefixAccess
	case strings.HasPrefix(secret, PrefixPAT):
		prefix = PrefixPAT
	case strings.HasPrefix(secret, PrefixRefresh):
		prefix = PrefixRefresh
	default:
		return "", errFormat
	}
	if len(secret) != len(prefix)+bodyLen {
		return "", errFormat
	}
	for i := len(prefix); i < len(secret); i++ {
		c := secret[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return "", errFormat
		}
	}
	cut := len(secret) - checksumLen
	if !checksumMatches(secret[:cut], secret[cut:]) {
		return "", errChecksum
	}
	return prefix, nil
}

func checksumMatches(s, sum string) bool {
	n := crc32String(s)
	for i := checksumLen - 1; i >= 0; i-- {
		if sum[i] != base62[n%62] {
			return false
		}
		n /= 62
	}
	return true
}
