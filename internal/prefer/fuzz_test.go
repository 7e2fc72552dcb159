package prefer_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/prefer"
)

func FuzzParsePrefer(f *testing.F) {
	f.Add("persistent-auth, return=minimal")
	f.Add(`foo="a,b\"c"; p=1, wait=10`)
	f.Add(`"unterminated`)
	f.Fuzz(func(t *testing.T, v string) {
		prefs := prefer.Parse([]string{v})
		for name := range prefs {
			if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " ,;=\"") {
				t.Fatalf("bad token %q from %q", name, v)
			}
		}
	})
}
