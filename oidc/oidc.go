// Package oidc accepts JWT access tokens issued by an external OpenID
// Connect provider (Keycloak, to which oVirt 4.5+ delegates its SSO, or any
// other): an auth.TokenVerifier to put beside a service's own verifiers in
// an auth.Union, behind a Bearer transport (oauth2.NewBearer).
//
// The provider's discovery document (ISSUER/.well-known/openid-configuration)
// names its JWKS; the keys are fetched and cached. A token whose key id is
// not cached triggers at most one refetch per MinRefetch (a minute), so
// rotated keys are picked up without a restart and a flood of forged key ids
// cannot hammer the provider; while the provider is unreachable, tokens whose
// key is cached keep working. Each key's algorithm is pinned (the JWK's
// "alg", else the one its type implies): a token cannot choose it. iss, aud,
// exp and nbf are checked (golang-jwt/jwt/v5 parses), and the claims map to
// the Identity: the user from preferred_username (or UserClaim), groups from
// GroupsClaim.
//
// JWKs are decoded with the standard library (RSA and EC P-256/384/521):
// there is no dependency beyond golang-jwt, which gatehouse already uses for
// its own JWTs.
package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/auth"
)

// AttrIssuer is the Identity attribute that names the provider whose
// token proved it.
const AttrIssuer = "issuer"

// Config configures New.
type Config struct {
	// Issuer is the provider's issuer URL (https://idp.example/realms/ovirt);
	// tokens must carry it as iss. Required.
	Issuer string
	// Audience must be in the token's aud. Required.
	Audience string
	// UserClaim names the claim that holds the login; default
	// "preferred_username". GroupsClaim, when set, names a string or list
	// of strings mapped to Identity.Groups.
	UserClaim, GroupsClaim string
	// Domain is given to every identity (oVirt's profile, e.g. "internal").
	Domain string
	// HTTPClient fetches discovery and keys (its TLS configuration trusts
	// the provider); default a client with a 10 s timeout.
	HTTPClient *http.Client
	// MinRefetch is the least time between two fetches of the keys for an
	// unknown key id; default one minute.
	MinRefetch time.Duration
	// Leeway tolerates clock skew on exp, nbf and iat; default 30 s.
	Leeway time.Duration
	// Env is the service's shared settings (auth.Env): its clock.
	Env auth.Env
}

// verifier verifies the provider's tokens. It implements
// auth.TokenVerifier: a token that is not a JWT, or whose iss is another
// issuer, is not its (auth.ErrNotMine); one with its issuer is checked in
// full. Identities leave Scheme empty for the transport to name (Bearer:
// auth.SchemeOAuth2) and carry AttrIssuer.
type verifier struct {
	cfg Config

	mu        sync.Mutex
	keys      map[string]key // by kid
	jwksURL   string
	lastFetch time.Time
	fetching  chan struct{} // closed when the fetch under way ends; nil when none

	attrs map[string]string // every identity's (never mutated)
}

// key is a provider key with its pinned algorithm.
type key struct {
	alg string
	pub crypto.PublicKey
}

// New returns the provider's token verifier; it fetches nothing until a token arrives.
func New(cfg Config) (auth.TokenVerifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("oidc: Config.Issuer and Config.Audience are required")
	}
	if cfg.UserClaim == "" {
		cfg.UserClaim = "preferred_username"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = time.Minute
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	return &verifier{cfg: cfg, keys: map[string]key{}, attrs: map[string]string{AttrIssuer: cfg.Issuer}}, nil
}

func (a *verifier) fail(reason auth.Reason, msg string, cause error) *auth.Error {
	return &auth.Error{Reason: reason, Message: msg, Cause: cause}
}

// issuedHere reports whether raw is a JWT whose (unverified) iss is the
// configured issuer.
func (a *verifier) issuedHere(raw string) bool {
	if strings.Count(raw, ".") != 2 {
		return false
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return false
	}
	return c.Issuer == a.cfg.Issuer
}

// VerifyToken implements auth.TokenVerifier.
func (a *verifier) VerifyToken(ctx context.Context, raw string) (*auth.Identity, error) {
	if !a.issuedHere(raw) {
		return nil, auth.ErrNotMine
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := a.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		if t.Method.Alg() != k.alg { // the key decides the algorithm, never the token
			return nil, fmt.Errorf("oidc: alg %q does not match key %q (%s)", t.Method.Alg(), kid, k.alg)
		}
		return k.pub, nil
	},
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}),
		jwt.WithIssuer(a.cfg.Issuer), jwt.WithAudience(a.cfg.Audience), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithLeeway(a.cfg.Leeway), jwt.WithTimeFunc(a.cfg.Env.Now))
	if err != nil {
		var ue unavailableError
		if errors.As(err, &ue) {
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Cause: err}
		}
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, a.fail(auth.ReasonExpired, "token expired", err)
		}
		return nil, a.fail(auth.ReasonInvalid, "invalid token", err)
	}
	user, _ := claims[a.cfg.UserClaim].(string)
	if user == "" || !httpx.Printable(user) {
		return nil, a.fail(auth.ReasonInvalid, "invalid token", fmt.Errorf("oidc: no usable %s claim", a.cfg.UserClaim))
	}
	id := &auth.Identity{User: user, Domain: a.cfg.Domain, Attrs: a.attrs}
	if cnf, ok := claims["cnf"].(map[string]any); ok {
		// RFC 8705: a certificate-bound token; the transport refuses it on a
		// connection without that certificate.
		x5t, _ := cnf["x5t#S256"].(string)
		if x5t == "" || !httpx.Printable(x5t) {
			return nil, a.fail(auth.ReasonInvalid, "invalid token", errors.New("oidc: a cnf claim without x5t#S256"))
		}
		id.Attrs = map[string]string{AttrIssuer: a.cfg.Issuer, "cnf_x5t#S256": x5t}
	}
	if s, ok := claims["scope"].(string); ok {
		id.Scopes = strings.Fields(s)
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		id.Expires = exp.Time
	}
	if a.cfg.GroupsClaim != "" {
		switch g := claims[a.cfg.GroupsClaim].(type) {
		case string:
			id.Groups = []string{g}
		case []any:
			for _, v := range g {
				if s, ok := v.(string); ok && httpx.Printable(s) {
					id.Groups = append(id.Groups, strings.TrimPrefix(s, "/")) // Keycloak's group paths
				}
			}
		}
	}
	return id, nil
}

// unavailableError: the provider could not be asked and the key is not
// cached — the answer is 503, not a refusal of the token.
type unavailableError struct{ err error }

func (e unavailableError) Error() string { return "oidc: provider unavailable: " + e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

// key returns the key kid, fetching the provider's keys when kid is not
// cached and the last fetch is at least MinRefetch ago. The lock is never
// held during a fetch: cached keys answer while a slow provider is asked,
// and a token with another unknown kid waits for the fetch under way (as
// long as its request lasts) instead of starting one.
func (a *verifier) key(ctx context.Context, kid string) (key, error) {
	a.mu.Lock()
	if k, ok := a.keys[kid]; ok {
		a.mu.Unlock()
		return k, nil
	}
	if ch := a.fetching; ch != nil {
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return key{}, unavailableError{ctx.Err()}
		}
		return a.cached(kid)
	}
	now := a.cfg.Env.Now()
	if !a.lastFetch.IsZero() && now.Sub(a.lastFetch) < a.cfg.MinRefetch {
		a.mu.Unlock()
		return key{}, fmt.Errorf("oidc: unknown key id %q", kid)
	}
	a.lastFetch = now
	done := make(chan struct{})
	a.fetching = done
	jwksURL := a.jwksURL
	a.mu.Unlock()

	keys, jwksURL, err := a.fetch(ctx, jwksURL)
	a.mu.Lock()
	a.fetching = nil
	if err == nil {
		a.keys, a.jwksURL = keys, jwksURL // a rotation drops the keys the provider no longer lists
	}
	a.mu.Unlock()
	close(done)
	if err != nil {
		return key{}, unavailableError{err}
	}
	return a.cached(kid)
}

// cached is the cached key kid, or "unknown key id".
func (a *verifier) cached(kid string) (key, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if k, ok := a.keys[kid]; ok {
		return k, nil
	}
	return key{}, fmt.Errorf("oidc: unknown key id %q", kid)
}

// maxDocument bounds discovery and JWKS documents.
const maxDocument = 1 << 20

func (a *verifier) getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, maxDocument)).Decode(v)
}

// fetch reads the provider's keys from jwksURL, first discovering it
// when it is empty, and returns the keys and the URL.
func (a *verifier) fetch(ctx context.Context, jwksURL string) (map[string]key, string, error) {
	if jwksURL == "" {
		var d struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := a.getJSON(ctx, strings.TrimSuffix(a.cfg.Issuer, "/")+"/.well-known/openid-configuration", &d); err != nil {
			return nil, "", err
		}
		if d.Issuer != a.cfg.Issuer || !strings.HasPrefix(d.JWKSURI, "https://") {
			return nil, "", fmt.Errorf("discovery names issuer %q and jwks_uri %q", d.Issuer, d.JWKSURI)
		}
		jwksURL = d.JWKSURI
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := a.getJSON(ctx, jwksURL, &set); err != nil {
		return nil, "", err
	}
	keys := map[string]key{}
	for _, j := range set.Keys {
		if k, err := j.key(); err == nil && j.Kid != "" && (j.Use == "" || j.Use == "sig") {
			keys[j.Kid] = k
		}
	}
	if len(keys) == 0 {
		return nil, "", errors.New("the JWKS has no usable signing key")
	}
	return keys, jwksURL, nil
}

// jwk is one JSON Web Key (RFC 7517) of the kinds providers publish.
type jwk struct {
	Kty, Kid, Use, Alg, Crv string
	N, E, X, Y              string
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, errors.New("oidc: bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// key decodes the JWK and pins its algorithm.
func (j jwk) key() (key, error) {
	switch j.Kty {
	case "RSA":
		n, err1 := b64int(j.N)
		e, err2 := b64int(j.E)
		if err1 != nil || err2 != nil || !e.IsInt64() || n.BitLen() < 2048 {
			return key{}, errors.New("oidc: bad or short RSA key")
		}
		alg := j.Alg
		if alg == "" {
			alg = "RS256"
		}
		if !strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "PS") {
			return key{}, errors.New("oidc: RSA key with a non-RSA alg")
		}
		return key{alg: alg, pub: &rsa.PublicKey{N: n, E: int(e.Int64())}}, nil
	case "EC":
		curves := map[string]struct {
			c    elliptic.Curve
			size int
			alg  string
		}{"P-256": {elliptic.P256(), 32, "ES256"}, "P-384": {elliptic.P384(), 48, "ES384"}, "P-521": {elliptic.P521(), 66, "ES512"}}
		cv, ok := curves[j.Crv]
		if !ok {
			return key{}, errors.New("oidc: unsupported curve")
		}
		x, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.X, "="))
		y, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.Y, "="))
		if err1 != nil || err2 != nil || len(x) != cv.size || len(y) != cv.size {
			return key{}, errors.New("oidc: bad EC coordinates")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(cv.c, append(append([]byte{4}, x...), y...)) // checks the point
		if err != nil {
			return key{}, err
		}
		if j.Alg != "" && j.Alg != cv.alg {
			return key{}, errors.New("oidc: EC key with another alg")
		}
		return key{alg: cv.alg, pub: pub}, nil
	}
	return key{}, errors.New("oidc: unsupported key type")
}
