// Package certserial normalizes certificate serial numbers to the one form the
// stores key revocations by.
package certserial

import (
	"fmt"
	"math/big"
	"strings"
)

// Normalize turns a certificate serial as people copy it — openssl x509
// -serial's "serial=0A1B…", colon-separated bytes "0a:1b:…", "0x…", upper
// or lower case, leading zeros — into the one form stores key it by:
// lower-case hex without leading zeros (big.Int's Text(16)). Anything that
// is not a non-negative hexadecimal number is an error.
func Normalize(s string) (string, error) {
	if normal(s) {
		return s, nil // the form certificates' serials are looked up in: no work per request
	}
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "serial="), "SERIAL=")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	t = strings.ReplaceAll(t, ":", "")
	if t == "" || len(t) > 128 {
		return "", fmt.Errorf("certificate serial %q is not a hexadecimal number", s)
	}
	for _, r := range t {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return "", fmt.Errorf("certificate serial %q is not a hexadecimal number", s)
		}
	}
	n, ok := new(big.Int).SetString(t, 16)
	if !ok {
		return "", fmt.Errorf("certificate serial %q is not a hexadecimal number", s)
	}
	return n.Text(16), nil
}

// normal reports whether s is already in Normalize's form: lower-case hex
// digits, no leading zero (but "0"), at most 128 of them.
func normal(s string) bool {
	if s == "" || len(s) > 128 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
