package password_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth/password"
)

// TestApacheFormats: $apr1$ and {SHA} hashes made by OpenSSL (what
// htpasswd makes by default and with -s) verify, the wrong password does
// not, and both are upgraded at the next login; $1$ agrees with OpenSSL too.
func TestApacheFormats(t *testing.T) {
	hashes := map[string]string{ // openssl passwd -apr1 / -1; printf pw | openssl sha1 -binary | base64
		"$apr1$kOkuv4vd$8L7LWbGY/YUqyXjeVca/P.": "cluster-secret",
		"$apr1$kOkuv4vd$tb3I3JzXJgqa9o7oo.uX.1": "secret",
		"{SHA}EZOb/3ZEWVxuVqUsfAE789IreWE=":     "cluster-secret",
		"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=":     "secret",
		"$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1":    "secret",
	}
	if openssl, err := exec.LookPath("openssl"); err == nil {
		for _, pw := range []string{"", "a", "correct horse battery staple", strings.Repeat("x", 40), "ünïcødé"} {
			out, err := exec.Command(openssl, "passwd", "-apr1", "-salt", "Zx9.y/ab", pw).Output()
			if err != nil {
				t.Fatal(err)
			}
			hashes[strings.TrimSpace(string(out))] = pw
		}
	}
	for hash, pw := range hashes {
		if ok, err := password.Verify(hash, pw); !ok || err != nil {
			t.Errorf("Verify(%s, %q) = %v, %v", hash, pw, ok, err)
		}
		if ok, err := password.Verify(hash, pw+"x"); ok || err != nil {
			t.Errorf("Verify(%s, wrong) = %v, %v", hash, ok, err)
		}
		if !password.NeedsRehash(hash) {
			t.Errorf("%s is not upgraded", hash)
		}
	}
	for _, bad := range []string{"$apr1$", "$apr1$salt", "$apr1$toolongsalt$8L7LWbGY/YUqyXjeVca/P.", "{SHA}not-base64!", "{SHA}AAAA"} {
		if _, err := password.Verify(bad, "x"); err == nil {
			t.Errorf("Verify(%q): no error", bad)
		}
	}
}
