// Package stores holds the records gatehouse keeps (users, tokens,
// sessions, OAuth consumers and clients) and the narrow interfaces through
// which the schemes read them and administrators change them. Backends
// (store/memstore, store/sqlstore, store/redisstore) implement them;
// store/storetest checks that they do alike.
package stores

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned by a store when the record asked for does not exist.
var ErrNotFound = errors.New("stores: not found")

// ErrConflict is returned by a store when a record would collide with an
// existing one (a user or a token name that is taken).
var ErrConflict = errors.New("stores: already exists")

// ErrInvalid is returned by a store for a key no backend can hold (see
// Storable): such a record cannot exist, so it is never a store failure.
var ErrInvalid = errors.New("stores: not storable (NUL, invalid UTF-8 or longer than 1024 bytes)")

// maxKeyBytes bounds every key a store holds: logins, consumer keys,
// client ids, nonces, failure keys. (PostgreSQL's unique indexes take no
// more than about 2.7 KB a row.)
const maxKeyBytes = 1024

// Storable reports whether every backend can hold each key as it is: valid
// UTF-8 without NUL (PostgreSQL's TEXT refuses both; SQLite and Redis would
// take them) and at most maxKeyBytes. Stores answer ErrNotFound (or no
// failures) when a lookup's key is not storable, and ErrInvalid when a
// write's is, on every backend alike.
func Storable(keys ...string) bool {
	for _, k := range keys {
		if len(k) > maxKeyBytes || strings.IndexByte(k, 0) >= 0 || !utf8.ValidString(k) {
			return false
		}
	}
	return true
}

// User is a stored account.
type User struct {
	// ID is the account's stable identity, assigned by the store when the
	// account is created and kept when it is replaced. Tokens and sessions
	// are bound to it: an account deleted and created again under the same
	// login is a different account, and the old credentials do not work.
	ID           string
	Name         string   // login name without domain, e.g. "admin"
	Domain       string   // e.g. "internal"; empty when domains are not used
	PasswordHash string   // a hash that auth/password.Verify accepts; empty = no password login
	Groups       []string // group names for policy rules
	Disabled     bool     // a disabled user cannot authenticate by any scheme
	// Updated changes whenever the password, groups or disabled flag change.
	// Caches of verified credentials compare it to drop stale entries.
	Updated time.Time
	// PasswordChanged is when the password hash was last set to a new
	// password (the store sets it; a rehash of the same password through
	// PasswordRehasher keeps it). Tokens record it at issue and may be
	// refused once it moves (token.Config.PasswordChangeRevokes).
	PasswordChanged time.Time
}

// Login is the name the stores key users by: "name@domain", or "name" when
// Domain is empty.
func (u *User) Login() string {
	if u.Domain == "" {
		return u.Name
	}
	return u.Name + "@" + u.Domain
}

// UserStore looks users up by login ("name" or "name@domain"). Lookups of
// "Name" are case-sensitive unless a backend documents otherwise.
type UserStore interface {
	User(ctx context.Context, login string) (*User, error)
}

// UserAdmin manages users (the CLI and tests use it).
type UserAdmin interface {
	UserStore
	// PutUser creates or replaces the user with u.Login(), setting Updated
	// (and PasswordChanged when the hash differs from the stored one). A new
	// account gets a fresh random ID; a replaced one keeps its ID (u.ID is
	// ignored).
	PutUser(ctx context.Context, u User) error
	// DeleteUser removes the user and revokes its tokens and sessions.
	DeleteUser(ctx context.Context, login string) error
	ListUsers(ctx context.Context) ([]User, error)
}

// PasswordRehasher is implemented by user stores that can replace a user's
// password hash with a new hash of the same password (an upgrade from bcrypt
// or sha512-crypt to argon2id after a successful login) without counting it
// as a password change: Updated and PasswordChanged stay as they are. The
// hash is replaced only while it still equals oldHash.
type PasswordRehasher interface {
	RehashPassword(ctx context.Context, login, oldHash, newHash string) error
}

// Token kinds.
const (
	TokenAccess  = "access"  // expiring access token (xCAT, OAuth 2 bearer)
	TokenPAT     = "pat"     // personal access token (Satellite)
	TokenJWT     = "jwt"     // a JWT access token, recorded only for listing and revocation by jti
	TokenRefresh = "refresh" // OAuth 2 refresh token (used once, then rotated)
)

// Token is a stored token. The secret itself is never stored: Hash is a
// keyed hash of it (empty for JWTs, which are verified by signature).
type Token struct {
	ID       string // public identifier (for listing and revoking); a JWT's jti
	Hash     string // hex keyed hash of the secret; unique
	Kind     string // TokenAccess, TokenPAT, TokenJWT
	User     string // owner's login ("name" or "name@domain")
	UserID   string // owner's User.ID at issue: the token dies with the account
	ClientID string // OAuth 2 client the token was issued to ("" = none)
	Family   string // OAuth 2 grant family: a login's access and refresh tokens and all rotated from them
	// PasswordStamp is the owner's User.PasswordChanged at issue: when the
	// user's stamp differs, the password was changed since.
	PasswordStamp time.Time
	Name          string    // PAT name, unique per user among PATs
	Scopes        []string  // scopes granted
	Created       time.Time // when issued
	Expires       time.Time // zero = never expires
	LastUsed      time.Time // zero = never used (updates are coalesced)
	Revoked       time.Time // zero = not revoked
	// CertThumbprint binds the token to a client certificate (RFC 8705):
	// the base64url SHA-256 of its DER form; the token is accepted only
	// over a TLS connection presenting that certificate. Empty = unbound.
	CertThumbprint string
}

// Active reports whether the token is neither revoked nor expired at now.
func (t *Token) Active(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// TokenStore finds tokens for verification.
type TokenStore interface {
	// TokenByHash returns the token whose Hash is hash, or ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// TokenByID returns the token with id, or ErrNotFound.
	TokenByID(ctx context.Context, id string) (*Token, error)
}

// TokenKeeper is what issuing and verifying tokens needs (token.Service).
type TokenKeeper interface {
	TokenStore
	// CreateToken stores t. It fails with ErrConflict when the ID or Hash is
	// taken, or when t is a PAT whose Name the user already has (revoked or
	// not: names are never reused, so a listing stays unambiguous).
	CreateToken(ctx context.Context, t Token) error
	// ListTokens returns user's tokens of kind ("" = all kinds), oldest first.
	ListTokens(ctx context.Context, user, kind string) ([]Token, error)
	// RevokeToken marks the token revoked at the given time (ErrNotFound if
	// there is none; revoking twice keeps the first time).
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// ConsumeToken revokes the token at the given time if it was not
	// revoked yet and reports whether this call did it: exactly one of many
	// concurrent callers gets true (single-use refresh tokens).
	ConsumeToken(ctx context.Context, id string, at time.Time) (bool, error)
	// TouchTokens records last-used times in one batch (id → time); a time
	// older than the stored one is ignored, unknown ids are skipped.
	TouchTokens(ctx context.Context, used map[string]time.Time) error
	// RevokeFamily revokes every token of an OAuth 2 grant family that is
	// not revoked yet (refresh-token reuse, RFC 9700 §4.14.2) and returns
	// how many.
	RevokeFamily(ctx context.Context, family string, at time.Time) (int, error)
}

// TokenAdmin is TokenKeeper plus maintenance.
type TokenAdmin interface {
	TokenKeeper
	// DeleteExpiredTokens removes tokens that expired before the given time
	// and returns how many.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)
}

// Consumer is an OAuth 1.0a consumer (Foreman's oauth_consumer_key and
// oauth_consumer_secret). The secret is stored as it is: HMAC signatures
// cannot be checked against a hash of it.
//
// A consumer accepts only the signature methods it is registered for:
// Methods when set, else those its material allows (a Secret allows
// HMAC-SHA1, HMAC-SHA256 and PLAINTEXT; an RSAPublicKeyPEM allows
// RSA-SHA1). Stores refuse a consumer that fails Validate.
type Consumer struct {
	Key    string
	Secret string // for HMAC-SHA1, HMAC-SHA256 and PLAINTEXT; at least minConsumerSecret bytes
	// RSAPublicKeyPEM is the consumer's registered key for RSA-SHA1.
	RSAPublicKeyPEM string
	// Methods, when not empty, narrows the signature methods accepted.
	Methods  []string
	Disabled bool
	// Users, when not empty, are the only users this consumer may act as
	// (compared case-insensitively).
	Users []string
	// Mapping overrides, for this consumer, how the OAuth 1 authenticator
	// finds the user a request acts as: one of the ConsumerMap constants;
	// "" (ConsumerMapDefault) keeps the authenticator's setting.
	Mapping string
}

// The values of Consumer.Mapping (Foreman's oauth_map_users, per consumer).
const (
	ConsumerMapDefault = ""       // the authenticator's Mapping
	ConsumerMapHeader  = "header" // the user named in FOREMAN-USER (oauth_map_users = true)
	ConsumerMapSigned  = "signed" // the user in the signed xoauth_requestor_id (strict)
	ConsumerMapNone    = "none"   // the built-in API administrator (oauth_map_users = false)
)

// minConsumerSecret is the shortest consumer secret accepted for HMAC and
// PLAINTEXT signatures, in bytes.
const minConsumerSecret = 16

// Signature methods a Consumer can be registered for.
var (
	secretMethods = []string{"HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT"}
	rsaMethods    = []string{"RSA-SHA1"}
)

// Accepts reports whether the consumer is registered for the signature
// method: the method needs the consumer's material (a secret of at least
// minConsumerSecret bytes for HMAC and PLAINTEXT, a public key for RSA-SHA1)
// and, when Methods is set, must be listed there.
func (c *Consumer) Accepts(method string) bool {
	switch {
	case containsString(secretMethods, method):
		if len(c.Secret) < minConsumerSecret {
			return false
		}
	case containsString(rsaMethods, method):
		if strings.TrimSpace(c.RSAPublicKeyPEM) == "" {
			return false
		}
	default:
		return false
	}
	return len(c.Methods) == 0 || containsString(c.Methods, method)
}

// Validate reports a consumer that could never verify safely: no key, a
// secret shorter than minConsumerSecret, neither a secret nor a public key,
// or a Methods entry the material does not allow.
func (c *Consumer) Validate() error {
	switch {
	case c.Key == "":
		return errors.New("stores: consumer without a key")
	case c.Secret == "" && strings.TrimSpace(c.RSAPublicKeyPEM) == "":
		return fmt.Errorf("stores: consumer %q has neither a secret nor an RSA public key", c.Key)
	case c.Secret != "" && len(c.Secret) < minConsumerSecret:
		return fmt.Errorf("stores: consumer %q: secret shorter than %d bytes", c.Key, minConsumerSecret)
	}
	switch c.Mapping {
	case ConsumerMapDefault, ConsumerMapHeader, ConsumerMapSigned, ConsumerMapNone:
	default:
		return fmt.Errorf("stores: consumer %q: unknown user mapping %q", c.Key, c.Mapping)
	}
	for _, m := range c.Methods {
		if !c.Accepts(m) {
			return fmt.Errorf("stores: consumer %q: signature method %q needs material the consumer lacks (or is unknown)", c.Key, m)
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ConsumerStore finds OAuth 1.0a consumers by key.
type ConsumerStore interface {
	Consumer(ctx context.Context, key string) (*Consumer, error)
}

// NonceStore remembers OAuth 1.0a nonces per consumer until they expire, so
// that a replayed request is refused.
type NonceStore interface {
	// UseNonce records nonce for consumer until expires. It returns false
	// when the nonce was already recorded and has not expired: a replay.
	// It must be atomic across every replica that shares the store.
	UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (fresh bool, err error)
}

// UserFolder is implemented by user stores that can find a user by login
// ignoring case (Foreman matches FOREMAN-USER that way).
type UserFolder interface {
	UserFold(ctx context.Context, login string) (*User, error)
}

// Client is an OAuth 2 client (RFC 6749 §2). Its secret is stored as a
// password hash (auth/password formats).
type Client struct {
	ID         string
	SecretHash string // empty: a public client, identified but not authenticated
	Disabled   bool
	// Scopes, when not empty, are the only scopes the client may ask for.
	Scopes []string
	// Grants, when not empty, are the only grant types the client may use
	// ("password", "refresh_token").
	Grants []string
}

// ClientStore finds OAuth 2 clients by id.
type ClientStore interface {
	Client(ctx context.Context, id string) (*Client, error)
}

// Session is a stored login session (session package). The session id is
// never stored: Hash is the hex SHA-256 of it.
type Session struct {
	Hash   string // hex SHA-256 of the session id; unique
	User   string // login
	UserID string // User.ID at login: the session dies with the account
	// Credential names the expiring or revocable credential that created
	// the session ("token:<id>", "cert:<serial>"), re-checked on each use;
	// empty for a password or OAuth 1 login.
	Credential  string
	Scheme      string        // the scheme that first proved the user
	Scopes      []string      // scopes of the proof that created it
	UserUpdated time.Time     // User.Updated at login: a later change ends the session
	Created     time.Time     //
	LastSeen    time.Time     // updated at most every few minutes (coalesced)
	IdleTimeout time.Duration // the session ends after this long unused
	Expires     time.Time     // absolute end
	CSRF        bool          // later requests must echo the id in a JSESSIONID header
}

// Active reports whether the session is still good at now: before its
// absolute expiry and used within its idle timeout.
func (s *Session) Active(now time.Time) bool {
	return now.Before(s.Expires) && now.Before(s.LastSeen.Add(s.IdleTimeout))
}

// SessionStore holds sessions. Every replica that shares it accepts every
// session.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// TouchSession sets LastSeen (ErrNotFound when the session is gone).
	TouchSession(ctx context.Context, hash string, at time.Time) error
	// DeleteSession ends a session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
}

// SessionCapper bounds how many sessions one login keeps: memstore,
// sqlstore and redisstore implement it, and session.Manager and selfservice
// call it after each session they create, so that logging in again and
// again (200 concurrent logins, say) cannot grow the store without limit.
type SessionCapper interface {
	// CapSessions deletes the login's sessions beyond the newest keep (by
	// Created) and returns how many it deleted.
	CapSessions(ctx context.Context, login string, keep int) (int, error)
}

// CertRevocations is a deny-list of client-certificate serial numbers
// (lower-case hex without leading zeros, as big.Int.Text(16) writes
// them), checked on every request.
type CertRevocations interface {
	CertRevoked(ctx context.Context, serial string) (bool, error)
}

// ConsumerAdmin stores OAuth 1 consumers (refusing those that fail
// Consumer.Validate).
type ConsumerAdmin interface {
	ConsumerStore
	PutConsumer(ctx context.Context, c Consumer) error
}

// ClientAdmin stores OAuth 2 clients.
type ClientAdmin interface {
	ClientStore
	PutClient(ctx context.Context, c Client) error
}

// CertAdmin keeps the deny-list of certificate serials (any form
// openssl x509 -serial prints, colon-separated bytes, 0x…; others are
// refused).
type CertAdmin interface {
	CertRevocations
	RevokeCert(ctx context.Context, serial string) error
}

// FailureCounter counts failed attempts per (scope, key) in fixed windows:
// the first failure of a key opens a window of the given length; the count
// resets when it ends. memstore implements it for one process, redisstore
// for many.
//
// Throttle reserves an attempt before checking it (AddFailure, then compare
// the returned count with the limit) and takes the reservation back
// (RemoveFailure) when the attempt succeeds, so that concurrent guesses can
// never all pass a check made before any of them was counted.
type FailureCounter interface {
	// AddFailure records a failure and returns the count in the current
	// window and the time left until that window ends. It is atomic: of n
	// concurrent calls each sees a different count. The time left is
	// measured by the counter's own clock and never exceeds window, so a
	// counter and its caller can never disagree about the clock.
	AddFailure(ctx context.Context, scope, key string, window time.Duration) (count int, left time.Duration, err error)
	// RemoveFailure takes one failure back (never below zero; a missing key
	// is not an error).
	RemoveFailure(ctx context.Context, scope, key string) error
	// Failures returns the count in the current window and the time left
	// in it (zero and zero when there is no window).
	Failures(ctx context.Context, scope, key string) (count int, left time.Duration, err error)
	// ResetFailures forgets the key.
	ResetFailures(ctx context.Context, scope, key string) error
}
