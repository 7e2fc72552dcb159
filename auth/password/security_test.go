package password_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/auth/password"
)

// Attack: a stored yescrypt hash with a huge cost ($y$jb.…, N=2^40) made a
// single login attempt allocate terabytes ("fatal error: out of memory",
// which no recover catches), and argon2 accepted up to 4 GiB, t=64, p=255.
// Each hostile hash is now ErrMalformed before any allocation of its size:
// measured in bytes allocated, not in time.
func TestHostileCostsRefusedWithoutAllocating(t *testing.T) {
	salt, key := "c2FsdHNhbHRzYWx0", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"
	for name, hash := range map[string]string{
		"yescrypt N=2^40":              "$y$jb.$6/LC2PJAVMjr6fAEqyqR8/$7cGbwWy3B6X4WsD/VnZvXUyKBuXy9Mg0zYKqdYsTmF4",
		"yescrypt N=2^20 r=64 (8 GiB)": "$y$jHz$6/LC2PJAVMjr6fAEqyqR8/$7cGbwWy3B6X4WsD/VnZvXUyKBuXy9Mg0zYKqdYsTmF4",
		"argon2id m=4GiB":              "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"argon2id m=257MiB":            "$argon2id$v=19$m=263168,t=1,p=1$" + salt + "$" + key,
		"argon2id t=17":                "$argon2id$v=19$m=64,t=17,p=1$" + salt + "$" + key,
		"argon2id p=17":                "$argon2id$v=19$m=1024,t=1,p=17$" + salt + "$" + key,
		"argon2i m=4GiB t=64":          "$argon2i$v=19$m=4194304,t=64,p=255$" + salt + "$" + key,
		"bcrypt cost 31":               "$2b$31$" + strings.Repeat("a", 53),
		"sha512-crypt 1e9 rounds":      "$6$rounds=999999999$salt$" + strings.Repeat("a", 86),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ok, err := password.Verify(hash, "guess")
		runtime.ReadMemStats(&after)
		assert.False(t, ok, name)
		assert.ErrorIs(t, err, password.ErrMalformed, name)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "%s allocated %d bytes", name, after.TotalAlloc-before.TotalAlloc)
	}
	// The bounds still admit what systems really store: Debian's yescrypt
	// default (j9T: N=4096, r=32, 16 MiB) and argon2 at 256 MiB.
	ok, err := password.Verify("$y$j9T$PaFbEr2EnsDHbx5iEAv0d.$9ooKk1L5Lwk7oU5vTpEHbY/nJ5oaWNlHaHXzRJnsg5.", "x")
	assert.NoError(t, err)
	assert.False(t, ok)
}

// Attack: bcrypt compares only the first 72 bytes, so any password sharing
// a 72-byte prefix with the real one matched.
func TestBcryptLongPasswordRefused(t *testing.T) {
	real := strings.Repeat("p", 72) + "-the-rest"
	h, err := bcrypt.GenerateFromPassword([]byte(real[:72]), bcrypt.MinCost)
	require.NoError(t, err)
	ok, err := password.Verify(string(h), real[:72])
	require.NoError(t, err)
	assert.True(t, ok, "72 bytes: bcrypt's own length")
	for _, guess := range []string{real, strings.Repeat("p", 72) + "anything"} {
		ok, err = password.Verify(string(h), guess)
		assert.NoError(t, err)
		assert.False(t, ok, "a password over 72 bytes never matches a bcrypt hash on its prefix")
	}
}
