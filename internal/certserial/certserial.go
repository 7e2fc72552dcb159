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
