package password

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastParams keep argon2id tests quick; the format is what is under test.
var fast = Hasher{Params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

type fixture struct{ format, password, hash, command string }

func loadFixtures(t testing.TB) []fixture {
	f, err := os.Open("testdata/shadow-fixtures.tsv")
	require.NoError(t, err)
	defer f.Close()
	var out []fixture
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		require.Len(t, cols, 4, line)
		out = append(out, fixture{cols[0], cols[1], cols[2], cols[3]})
	}
	require.NoError(t, sc.Err())
	return out
}

func TestVerifyToolFixtures(t *testing.T) {
	fixtures := loadFixtures(t)
	formats := map[string]bool{}
	for _, fx := range fixtures {
		formats[fx.format] = true
		t.Run(fx.format+"/"+fx.password, func(t *testing.T) {
			assert.Equal(t, fx.format, Format(fx.hash))
			ok, err := Verify(fx.hash, fx.password)
			require.NoError(t, err, fx.command)
			assert.True(t, ok, "made by %s", fx.command)

			ok, err = Verify(fx.hash, fx.password+"x")
			require.NoError(t, err)
			assert.False(t, ok, "wrong password accepted")
			ok, err = Verify(fx.hash, "")
			require.NoError(t, err)
			assert.False(t, ok, "empty password accepted")

			assert.True(t, NeedsRehash(fx.hash) || fx.format == "argon2id", "legacy formats need a rehash")
		})
	}
	for _, want := range []string{"argon2id", "argon2i", "bcrypt", "sha512-crypt", "sha256-crypt", "md5-crypt", "yescrypt"} {
		assert.True(t, formats[want], "no fixture for %s", want)
	}
}

func TestHashRoundTrip(t *testing.T) {
	for _, pw := range []string{"s3cret", "", "pässwörd:with:colons", strings.Repeat("x", 200)} {
		h, err := fast.Hash(pw)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"), h)
		ok, err := Verify(h, pw)
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = Verify(h, pw+"!")
		require.NoError(t, err)
		assert.False(t, ok)
	}
	h1, _ := fast.Hash("same")
	h2, _ := fast.Hash("same")
	assert.NotEqual(t, h1, h2, "salts must differ")
}

func TestDefaultHashIsOWASP(t *testing.T) {
	h, err := Hash("pw")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	assert.False(t, NeedsRehash(h))
	ok, err := Verify(h, "pw")
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestNeedsRehash(t *testing.T) {
	weak, _ := fast.Hash("pw")
	assert.True(t, NeedsRehash(weak), "weaker argon2id params")
	assert.False(t, fast.NeedsRehash(weak))
	assert.True(t, NeedsRehash("$6$salt$abc"))
	assert.True(t, NeedsRehash("garbage"))
}

func TestVerifyRejects(t *testing.T) {
	cases := []struct {
		name, hash string
		err        error
	}{
		{"empty", "", ErrUnsupported},
		{"plaintext", "cluster-secret", ErrUnsupported},
		{"pbkdf2 not offered", "$pbkdf2-sha256$29000$c2FsdA$abc", ErrUnsupported},
		{"argon2d not offered", "$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$YWJjZGVmZ2g", ErrUnsupported},
		{"argon2 missing key", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", ErrMalformed},
		{"argon2 bad version", "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$YWJjZGVmZ2g", ErrMalformed},
		{"argon2 huge memory", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$YWJjZGVmZ2g", ErrMalformed},
		{"argon2 zero threads", "$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$YWJjZGVmZ2g", ErrMalformed},
		{"argon2 bad base64", "$argon2id$v=19$m=64,t=1,p=1$!!!$YWJjZGVmZ2g", ErrMalformed},
		{"bcrypt cost 31", "$2y$31$7YN/yOBsDJRM5/F3RgqwsuDSpQTnIXyhthezJmi7QnMlgqQ4hpIi2", ErrMalformed},
		{"sha512 absurd rounds", "$6$rounds=999999999$salt$abc", ErrMalformed},
		{"sha512 truncated", "$6$", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := Verify(c.hash, "cluster-secret")
			assert.False(t, ok)
			assert.ErrorIs(t, err, c.err)
		})
	}
	ok, err := Verify(loadFixtures(t)[0].hash, strings.Repeat("a", MaxLength+1))
	assert.False(t, ok)
	assert.NoError(t, err)
}

func FuzzParseArgon2(f *testing.F) {
	f.Add("$argon2id$v=19$m=32768,t=2,p=1$c2FsdHNhbHQxMjM0$Cb/6AQjGRqYfe3OH4B5Rhl0tRkzF5G6DPoiMMNmodUE")
	f.Add("$argon2i$v=19$m=4096,t=3,p=1$b3RoZXJzYWx0NTY3$6OL/J/fzUpI+voAmo0qGJ4oi6vjNDoFoSAI95Hd6a/4")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, hash string) {
		h, err := parseArgon2(hash)
		if err == nil && (h.memory > maxArgonMemory || h.time > maxArgonTime || h.threads == 0) {
			t.Fatalf("accepted out-of-bounds parameters: %+v", h)
		}
		_ = NeedsRehash(hash)
	})
}

func FuzzVerify(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.hash, fx.password)
	}
	f.Add("$2y$05$", "x")
	f.Add("$y$j9T$$", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		// Keep the fuzzer from asking for legitimately expensive work.
		if strings.Contains(hash, "$argon2") {
			if h, err := parseArgon2(hash); err == nil && (h.memory > 1<<16 || h.time > 4) {
				return
			}
		}
		if strings.HasPrefix(hash, "$y$") && len(hash) > 3 && hash[3] != 'j' {
			return // yescrypt cost is encoded in the setting; only the cheap "j.." family here
		}
		ok, err := Verify(hash, pw)
		if ok && err != nil {
			t.Fatalf("match with an error: %v", err)
		}
		if ok && Format(hash) == "" {
			t.Fatalf("unsupported hash %q matched", hash)
		}
	})
}
