package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImportReaders: no input makes a reader panic, and nothing it
// returns is unusable (every account has a login and a hash or password
// gatehouse accepts; every rule validates).
func FuzzImportReaders(f *testing.F) {
	for _, name := range []string{"xcat-passwd.csv", "xcat-policy.csv", "htpasswd", "shadow"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("#key,username,password\n\"xcat\",\"a\nb\",\"x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(accounts []account) {
			for _, a := range accounts {
				if !validLogin(a.login) || (a.hash == "") == (a.plain == "") && !a.lockOnly || a.lockOnly && (!a.disabled || a.hash != "" || a.plain != "") {
					t.Fatalf("unusable account %+v", a)
				}
			}
		}
		a, _, _ := readXCATPasswd(strings.NewReader(string(b)))
		check(a)
		a, _, _ = readColonFile(strings.NewReader(string(b)), false, nil)
		check(a)
		a, _, _ = readColonFile(strings.NewReader(string(b)), true, map[string]bool{"root": true})
		check(a)
		rules, _, _ := readXCATPolicy(strings.NewReader(string(b)))
		for _, r := range rules {
			if err := r.Validate(); err != nil {
				t.Fatalf("invalid rule %+v: %v", r, err)
			}
		}
	})
}
