package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
)

// JWTKey is one signing key. Alg is "HS256" (Secret of at least 32 bytes),
// "EdDSA" (Signer an ed25519.PrivateKey) or "ES256" (Signer an
// *ecdsa.PrivateKey on P-256). A key with only Public set verifies but cannot
// sign (a retired key kept for tokens still in flight).
type JWTKey struct {
	ID     string // "kid"; unique
	Alg    string
	Secret []byte           // HS256
	Signer crypto.Signer    // EdDSA, ES256
	Public crypto.PublicKey // EdDSA, ES256 verify-only; derived from Signer when nil
}

// JWT is the JWT codec for access tokens: signs with the newest key, verifies
// with any configured key, pins the algorithm per key id (no "none", no
// HS256 made with a public key), and checks exp, nbf, iat, iss and aud.
type JWT struct {
	issuer, audience string
	leeway           time.Duration
	keys             map[string]JWTKey
	signing          JWTKey
	methods          []string
}

// JWTConfig configures the JWT codec.
type JWTConfig struct {
	Issuer, Audience string        // both required: set in iss and aud, checked on every token
	Leeway           time.Duration // allowed clock difference for exp, nbf and iat
	// Keys, oldest first: the last key that can sign signs new tokens; all
	// verify. Rotate by appending a new key and, once the old tokens have
	// expired, dropping the oldest.
	Keys []JWTKey
}

// NewJWT builds the codec.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	issuer, audience, leeway, keys := cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Keys
	if issuer == "" || audience == "" {
		return nil, errors.New("token: JWT needs an issuer and an audience")
	}
	j := &JWT{issuer: issuer, audience: audience, leeway: leeway, keys: map[string]JWTKey{}}
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("token: JWT key without an id")
		}
		if _, dup := j.keys[k.ID]; dup {
			return nil, fmt.Errorf("token: JWT key id %q twice", k.ID)
		}
		canSign, err := checkKey(&k)
		if err != nil {
			return nil, err
		}
		j.keys[k.ID] = k
		if canSign {
			j.signing = k
		}
		if !slices.Contains(j.methods, k.Alg) {
			j.methods = append(j.methods, k.Alg)
		}
	}
	if j.signing.ID == "" {
		return nil, errors.New("token: no JWT key can sign")
	}
	return j, nil
}

func checkKey(k *JWTKey) (canSign bool, err error) {
	switch k.Alg {
	case "HS256":
		if len(k.Secret) < 32 {
			return false, fmt.Errorf("token: HS256 key %q: secret shorter than 32 bytes", k.ID)
		}
		return true, nil
	case "EdDSA":
		if k.Signer != nil {
			if _, ok := k.Signer.(ed25519.PrivateKey); !ok {
				return false, fmt.Errorf("token: EdDSA key %q: not an ed25519.PrivateKey", k.ID)
			}
			k.Public = k.Signer.Public()
		}
		if _, ok := k.Public.(ed25519.PublicKey); !ok {
			return false, fmt.Errorf("token: EdDSA key %q: no ed25519 key", k.ID)
		}
		return k.Signer != nil, nil
	case "ES256":
		if k.Signer != nil {
			if _, ok := k.Signer.(*ecdsa.PrivateKey); !ok {
				return false, fmt.Errorf("token: ES256 key %q: not an *ecdsa.PrivateKey", k.ID)
			}
			k.Public = k.Signer.Public()
		}
		pub, ok := k.Public.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return false, fmt.Errorf("token: ES256 key %q: no P-256 key", k.ID)
		}
		return k.Signer != nil, nil
	default:
		return false, fmt.Errorf("token: JWT key %q: algorithm %q not supported (HS256, EdDSA, ES256)", k.ID, k.Alg)
	}
}

type claims struct {
	Scope string `json:"scope,omitempty"`
	// Cnf carries RFC 8705's x5t#S256 of a certificate-bound token.
	Cnf map[string]string `json:"cnf,omitempty"`
	jwt.RegisteredClaims
}

func (j *JWT) sign(t stores.Token) (string, error) {
	c := claims{Scope: strings.Join(t.Scopes, " "), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: j.issuer, Subject: t.User, Audience: jwt.ClaimStrings{j.audience},
		IssuedAt: jwt.NewNumericDate(t.Created), NotBefore: jwt.NewNumericDate(t.Created), ID: t.ID,
	}}
	if !t.Expires.IsZero() {
		c.ExpiresAt = jwt.NewNumericDate(t.Expires)
	}
	if t.CertThumbprint != "" {
		c.Cnf = map[string]string{"x5t#S256": t.CertThumbprint}
	}
	k := j.signing
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.Alg), c)
	tok.Header["kid"] = k.ID
	var key any = k.Signer
	if k.Alg == "HS256" {
		key = k.Secret
	}
	return tok.SignedString(key)
}

// verify checks a JWT and returns the token it stands for (ID = jti).
func (j *JWT) verify(s string, now time.Time) (stores.Token, error) {
	var c claims
	_, err := jwt.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := j.keys[kid]
		if !ok {
			return nil, fmt.Errorf("token: unknown JWT key id %q", kid)
		}
		if t.Method.Alg() != k.Alg { // the key decides the algorithm, never the token
			return nil, fmt.Errorf("token: JWT alg %q does not match key %q (%s)", t.Method.Alg(), kid, k.Alg)
		}
		if k.Alg == "HS256" {
			return k.Secret, nil
		}
		return k.Public, nil
	},
		jwt.WithValidMethods(j.methods),
		jwt.WithIssuer(j.issuer),
		jwt.WithAudience(j.audience),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(j.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return stores.Token{}, err
	}
	if c.ID == "" || c.Subject == "" {
		return stores.Token{}, errors.New("token: JWT without jti or sub")
	}
	t := stores.Token{ID: c.ID, Kind: stores.TokenJWT, User: c.Subject}
	if c.Scope != "" {
		t.Scopes = strings.Fields(c.Scope)
	}
	if c.ExpiresAt != nil {
		t.Expires = c.ExpiresAt.Time
	}
	if c.IssuedAt != nil {
		t.Created = c.IssuedAt.Time
	}
	return t, nil
}

func jwtReason(err error) auth.Reason {
	if errors.Is(err, jwt.ErrTokenExpired) {
		return auth.ReasonExpired
	}
	return auth.ReasonInvalid
}
