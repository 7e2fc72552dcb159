package certserial

import (
	"math/big"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"serial=0A1B": "a1b", "0a:1b": "a1b", "0x00ff": "ff", " FF ": "ff", "0": "0", "000": "0", "a1b": "a1b", "SERIAL=10": "10",
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "serial=", "xyz", "-1", "0x", "1 2", string(make([]byte, 129))} {
		if got, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
}

// TestNormalizedCostsNothing: the mTLS authenticator asks with the serial
// a certificate's big.Int renders, on every request.
func TestNormalizedCostsNothing(t *testing.T) {
	serial := new(big.Int).SetBytes([]byte{0x5a, 0x01, 0xff, 0x42, 0x99, 0x10, 0x07, 0x3c}).Text(16)
	if n := testing.AllocsPerRun(100, func() { _, _ = Normalize(serial) }); n != 0 {
		t.Errorf("normalizing a normal serial: %v allocations", n)
	}
}

// FuzzNormalize: an accepted serial is a fixed point, and is the number
// the input's hex digits spell.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"serial=0A1B", "0a:1b", "0x00ff", "a1b", "0", "00", "zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		if again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, then %q, %v", s, n, again, err)
		}
		v, ok := new(big.Int).SetString(n, 16)
		if !ok || v.Text(16) != n {
			t.Fatalf("Normalize(%q) = %q is not big.Int's form", s, n)
		}
	})
}
