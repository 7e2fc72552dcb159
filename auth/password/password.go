// Package password creates and verifies password hashes.
//
// New hashes are argon2id in the PHC string form
// ($argon2id$v=19$m=19456,t=2,p=1$salt$key) with the OWASP-recommended
// parameters. Verify also accepts every format an administrator may paste from
// /etc/shadow or an htpasswd file, because xCAT lets admins store the salted
// shadow hash in its passwd table: argon2id/argon2i, bcrypt ($2a$, $2b$, $2y$),
// sha512-crypt ($6$), sha256-crypt ($5$), md5-crypt ($1$) and yescrypt ($y$),
// and Apache htpasswd's $apr1$ and {SHA}.
// NeedsRehash tells a caller when a stored hash should be replaced with a
// fresh argon2id one after a successful login.
//
// Plain-text "hashes" are never accepted.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-crypt/crypt"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/scrypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/argon2"
)

// ErrUnsupported is returned by Verify for a hash whose format is not one of
// the supported ones (including an empty or plain-text value).
var ErrUnsupported = errors.New("password: unsupported hash format")

// ErrMalformed is returned by Verify for a hash that names a supported format
// but cannot be decoded.
var ErrMalformed = errors.New("password: malformed hash")

// MaxLength is the longest password Hash and Verify accept, in bytes. It bounds
// the work an attacker can ask of the server; longer passwords never match.
const MaxLength = 4096

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's argon2id recommendation (m=19 MiB, t=2, p=1).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher makes argon2id hashes with fixed parameters. The zero value uses
// DefaultParams.
type Hasher struct {
	Params Params
}

func (h Hasher) params() Params {
	if h.Params == (Params{}) {
		return DefaultParams
	}
	return h.Params
}

// Hash returns the argon2id PHC string for pw.
func (h Hasher) Hash(pw string) (string, error) {
	if len(pw) > MaxLength {
		return "", fmt.Errorf("password: longer than %d bytes", MaxLength)
	}
	p := h.params()
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.SaltLen < 8 || p.KeyLen < 16 {
		return "", errors.New("password: argon2id parameters out of range")
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// NeedsRehash reports whether hash is not an argon2id hash with at least
// h's parameters, so that a caller holding the plain password (right after a
// successful Verify) should store a fresh Hash.
func (h Hasher) NeedsRehash(hash string) bool {
	ph, err := parseArgon2(hash)
	if err != nil || ph.variant != "argon2id" || ph.version != argon2.Version {
		return true
	}
	p := h.params()
	return ph.memory < p.Memory || ph.time < p.Time || ph.threads < p.Threads ||
		uint32(len(ph.key)) < p.KeyLen || uint32(len(ph.salt)) < p.SaltLen
}

// Dummy is an argon2id hash with DefaultParams of a random password, made
// once per process: verifying against it costs what a real check costs, so
// an unknown user or client answers no faster than a known one.
var Dummy = sync.OnceValue(func() string {
	h, err := Hash(rand.Text())
	if err != nil {
		panic("password: cannot make the dummy hash: " + err.Error())
	}
	return h
})

// Hash returns an argon2id hash of pw with DefaultParams.
func Hash(pw string) (string, error) { return Hasher{}.Hash(pw) }

// NeedsRehash reports whether hash should be replaced by Hash's output.
func NeedsRehash(hash string) bool { return Hasher{}.NeedsRehash(hash) }

// Verify reports whether pw matches hash. A mismatch is (false, nil); an
// error means the hash itself is unusable (ErrUnsupported, ErrMalformed).
// The comparison of derived keys is constant-time.
func Verify(hash, pw string) (bool, error) {
	if len(pw) > MaxLength {
		return false, nil
	}
	switch {
	case strings.HasPrefix(hash, "$argon2id$"), strings.HasPrefix(hash, "$argon2i$"):
		return verifyArgon2(hash, pw)
	case strings.HasPrefix(hash, apr1Prefix):
		return verifyAPR1(hash, pw)
	case strings.HasPrefix(hash, shaPrefix):
		return verifySHA(hash, pw)
	case formatName(hash) == "bcrypt" && len(pw) > maxBcryptLength:
		// bcrypt reads only the first 72 bytes: a longer password would
		// match on its prefix alone. Refuse it; never truncate silently.
		if !costWithinBounds(hash) {
			return false, fmt.Errorf("%w: bcrypt cost beyond what gatehouse will compute", ErrMalformed)
		}
		return false, nil
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"),
		strings.HasPrefix(hash, "$6$"), strings.HasPrefix(hash, "$5$"),
		strings.HasPrefix(hash, "$1$"), strings.HasPrefix(hash, "$y$"):
		if !costWithinBounds(hash) {
			return false, fmt.Errorf("%w: %s cost beyond what gatehouse will compute", ErrMalformed, formatName(hash))
		}
		d, err := cryptDecoder.Decode(hash)
		if err != nil {
			return false, fmt.Errorf("%w: %s", ErrMalformed, formatName(hash))
		}
		return d.MatchAdvanced(pw)
	default:
		return false, ErrUnsupported
	}
}

// Format names the hash format of hash ("argon2id", "bcrypt", "sha512-crypt",
// …) or "" when it is not a supported one. It never decodes the hash.
func Format(hash string) string { return formatName(hash) }

func formatName(hash string) string {
	for _, f := range []struct{ prefix, name string }{
		{"$argon2id$", "argon2id"}, {"$argon2i$", "argon2i"},
		{"$2a$", "bcrypt"}, {"$2b$", "bcrypt"}, {"$2y$", "bcrypt"},
		{"$6$", "sha512-crypt"}, {"$5$", "sha256-crypt"}, {"$1$", "md5-crypt"}, {"$y$", "yescrypt"},
		{apr1Prefix, "apr1"}, {shaPrefix, "sha1"},
	} {
		if strings.HasPrefix(hash, f.prefix) {
			return f.name
		}
	}
	return ""
}

// cryptDecoder knows exactly the crypt(3) formats listed in the package doc:
// no plaintext, no pbkdf2, no sha1crypt.
var cryptDecoder = func() *crypt.Decoder {
	d := crypt.NewDecoder()
	for _, reg := range []func() error{
		func() error { return bcrypt.RegisterDecoder(d) },
		func() error { return shacrypt.RegisterDecoder(d) },
		func() error { return md5crypt.RegisterDecoder(d) },
		func() error { return scrypt.RegisterDecoderYescrypt(d) },
	} {
		if err := reg(); err != nil {
			panic("password: registering crypt decoders: " + err.Error())
		}
	}
	return d
}()

// maxBcryptLength is the longest password bcrypt reads; Verify refuses
// longer ones against a bcrypt hash instead of comparing their prefix.
const maxBcryptLength = 72

// Cost bounds for crypt(3) hashes, so that a hostile or mistyped stored hash
// (bcrypt cost 31, sha-crypt rounds=999999999, yescrypt N=2^40) can neither
// pin a CPU for minutes nor allocate more memory than the process has.
const (
	maxBcryptCost     = 16
	maxShaCryptRounds = 5_000_000
	maxMemoryBytes    = 256 << 20 // yescrypt's N·r·128 and argon2's m
)

// yescryptCost reads N's log2 and r from a yescrypt setting ("j9T": flags
// 'j', then one base-64 digit each, minus one), as libxcrypt writes it.
func yescryptCost(hash string) (ln, r uint, ok bool) {
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	setting, _, _ := strings.Cut(strings.TrimPrefix(hash, "$y$"), "$")
	if len(setting) != 3 || setting[0] != 'j' {
		return 0, 0, false
	}
	a, b := strings.IndexByte(alphabet, setting[1]), strings.IndexByte(alphabet, setting[2])
	if a < 0 || b < 0 {
		return 0, 0, false
	}
	return uint(a) + 1, uint(b) + 1, true
}

func costWithinBounds(hash string) bool {
	switch formatName(hash) {
	case "bcrypt":
		if len(hash) < 7 {
			return false
		}
		cost, err := strconv.Atoi(hash[4:6])
		return err == nil && hash[6] == '$' && cost <= maxBcryptCost
	case "sha512-crypt", "sha256-crypt":
		rest := hash[3:]
		if r, ok := strings.CutPrefix(rest, "rounds="); ok {
			n, _, _ := strings.Cut(r, "$")
			rounds, err := strconv.Atoi(n)
			return err == nil && rounds <= maxShaCryptRounds
		}
	case "yescrypt":
		ln, r, ok := yescryptCost(hash)
		// N·r·128 bytes, with N = 2^ln; compare in log space first so that
		// no shift overflows.
		return ok && ln <= 30 && r <= 1<<10 && (uint64(128)*uint64(r))<<ln <= maxMemoryBytes
	}
	return true
}

type argon2Hash struct {
	variant      string
	version      int
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// Bounds that keep a hostile stored hash from exhausting the server.
const (
	maxArgonMemory  = maxMemoryBytes / 1024 // 256 MiB in KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	maxArgonKeyLen  = 1024
	maxArgonSaltLen = 1024
)

func parseArgon2(hash string) (argon2Hash, error) {
	var h argon2Hash
	parts := strings.Split(hash, "$")
	// "", variant, v=19, m=..,t=..,p=.., salt, key
	if len(parts) != 6 || parts[0] != "" {
		return h, ErrMalformed
	}
	h.variant = parts[1]
	if h.variant != "argon2id" && h.variant != "argon2i" {
		return h, ErrUnsupported
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return h, ErrMalformed
	}
	var err error
	if h.version, err = strconv.Atoi(v); err != nil || h.version != argon2.Version {
		return h, ErrMalformed
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return h, ErrMalformed
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return h, ErrMalformed
		}
		switch k {
		case "m":
			h.memory, seen[0] = uint32(n), true
		case "t":
			h.time, seen[1] = uint32(n), true
		case "p":
			if n > maxArgonThreads {
				return h, ErrMalformed
			}
			h.threads, seen[2] = uint8(n), true
		default:
			return h, ErrMalformed
		}
	}
	if !seen[0] || !seen[1] || !seen[2] || h.threads == 0 || h.time == 0 ||
		h.memory < 8*uint32(h.threads) || h.memory > maxArgonMemory || h.time > maxArgonTime {
		return h, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > maxArgonSaltLen {
		return h, ErrMalformed
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 4 || len(h.key) > maxArgonKeyLen {
		return h, ErrMalformed
	}
	return h, nil
}

func verifyArgon2(hash, pw string) (bool, error) {
	h, err := parseArgon2(hash)
	if err != nil {
		return false, err
	}
	var key []byte
	if h.variant == "argon2id" {
		key = argon2.IDKey([]byte(pw), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	} else {
		key = argon2.Key([]byte(pw), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}
