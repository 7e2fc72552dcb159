package password

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Apache's htpasswd formats beside bcrypt: $apr1$ (Apache's MD5-crypt, the
// default of htpasswd without -B) and {SHA} (unsalted SHA-1, htpasswd -s).
// Both are weak; Verify accepts them so that an imported htpasswd file keeps
// working, and NeedsRehash is true for them, so the first successful login
// replaces them with argon2id. DES crypt (htpasswd -d) is not accepted: it
// reads only the first 8 bytes of a password.
const (
	apr1Prefix = "$apr1$"
	shaPrefix  = "{SHA}"
)

// verifyAPR1 checks pw against an $apr1$salt$hash string.
func verifyAPR1(hash, pw string) (bool, error) {
	rest := strings.TrimPrefix(hash, apr1Prefix)
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok || salt == "" || len(salt) > 8 || len(sum) != 22 || strings.Contains(sum, "$") {
		return false, ErrMalformed
	}
	got := md5Crypt(apr1Prefix, salt, pw)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1, nil
}

// verifySHA checks pw against {SHA}base64(sha1(pw)).
func verifySHA(hash, pw string) (bool, error) {
	want, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hash, shaPrefix))
	if err != nil || len(want) != sha1.Size {
		return false, ErrMalformed
	}
	got := sha1.Sum([]byte(pw))
	return subtle.ConstantTimeCompare(got[:], want) == 1, nil
}

// md5Crypt is Poul-Henning Kamp's MD5-based crypt(3), with magic "$1$" or
// Apache's "$apr1$" (the same algorithm under another name).
func md5Crypt(magic, salt, pw string) string {
	alt := md5.Sum([]byte(pw + salt + pw))
	ctx := md5.New()
	ctx.Write([]byte(pw + magic + salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(alt[:min(n, 16)])
	}
	for i := len(pw); i != 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write([]byte{pw[0]})
		}
	}
	final := ctx.Sum(nil)
	for i := range 1000 {
		c := md5.New()
		if i&1 != 0 {
			c.Write([]byte(pw))
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write([]byte(salt))
		}
		if i%7 != 0 {
			c.Write([]byte(pw))
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write([]byte(pw))
		}
		final = c.Sum(nil)
	}
	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	b.WriteString(magic + salt + "$")
	put := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, t := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		put(uint32(final[t[0]])<<16|uint32(final[t[1]])<<8|uint32(final[t[2]]), 4)
	}
	put(uint32(final[11]), 2)
	return b.String()
}
