package prefer

import "testing"

func TestPrefersAgreesWithParse(t *testing.T) {
	for _, v := range []string{"persistent-auth", "return=minimal, Persistent-Auth", `x="persistent-auth, y", z`, "persistent-auth;p=1", "new-auth=1", "", `a="\"", persistent-auth`} {
		for _, tok := range []string{"persistent-auth", "new-auth", "z", "y"} {
			if got, want := Prefers([]string{v}, tok), Parse([]string{v}).Has(tok); got != want {
				t.Errorf("Prefers(%q, %q) = %v, Parse says %v", v, tok, got, want)
			}
		}
	}
}

func FuzzPrefers(f *testing.F) {
	f.Add("persistent-auth, return=minimal", "persistent-auth")
	f.Add(`x="a,\"b", new-auth`, "new-auth")
	f.Fuzz(func(t *testing.T, v, tok string) {
		if !isToken(tok) || tok == "" {
			return
		}
		lower := Parse([]string{v})
		if got, want := Prefers([]string{v}, tok), lower.Has(toLower(tok)); got != want {
			t.Fatalf("Prefers(%q, %q) = %v, Parse says %v", v, tok, got, want)
		}
	})
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
