package auth

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a store when the record asked for does not exist.
var ErrNotFound = errors.New("auth: not found")

// ErrConflict is returned by a store when a record would collide with an
// existing one (a user or a token name that is taken).
var ErrConflict = errors.New("auth: already exists")

// User is a stored account.
type User struct {
	Name         string   // login name without domain, e.g. "admin"
	Domain       string   // e.g. "internal"; empty when domains are not used
	PasswordHash string   // a hash that auth/password.Verify accepts; empty = no password login
	Groups       []string // group names for policy rules
	Disabled     bool     // a disabled user cannot authenticate by any scheme
	// Updated changes whenever the password, groups or disabled flag change.
	// Caches of verified credentials compare it to drop stale entries.
	Updated time.Time
}

// Login is the name the stores key users by: "name@domain", or "name" when
// Domain is empty.
func (u *User) Login() string {
	if u.Domain == "" {
		return u.Name
	}
	return u.Name + "@" + u.Domain
}

// Identity builds the Identity the user proves with scheme.
func (u *User) Identity(scheme string) *Identity {
	return &Identity{User: u.Name, Domain: u.Domain, Groups: u.Groups, Scheme: scheme}
}

// UserStore looks users up by login ("name" or "name@domain"). Lookups of
// "Name" are case-sensitive unless a backend documents otherwise.
type UserStore interface {
	User(ctx context.Context, login string) (*User, error)
}

// UserAdmin manages users (the CLI and tests use it).
type UserAdmin interface {
	UserStore
	// PutUser creates or replaces the user with u.Login(), setting Updated.
	PutUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, login string) error
	ListUsers(ctx context.Context) ([]User, error)
}

// PolicyStore supplies the rules of a RuleTable.
type PolicyStore interface {
	Rules(ctx context.Context) ([]Rule, error)
}

// Token kinds.
const (
	TokenAccess = "access" // expiring access token (xCAT, OAuth 2 bearer)
	TokenPAT    = "pat"    // personal access token (Satellite)
	TokenJWT    = "jwt"    // a JWT access token, recorded only for listing and revocation by jti
)

// Token is a stored token. The secret itself is never stored: Hash is a
// keyed hash of it (empty for JWTs, which are verified by signature).
type Token struct {
	ID       string    // public identifier (for listing and revoking); a JWT's jti
	Hash     string    // hex keyed hash of the secret; unique
	Kind     string    // TokenAccess, TokenPAT, TokenJWT
	User     string    // owner's login ("name" or "name@domain")
	Name     string    // PAT name, unique per user among PATs
	Scopes   []string  // scopes granted
	Created  time.Time // when issued
	Expires  time.Time // zero = never expires
	LastUsed time.Time // zero = never used (updates are coalesced)
	Revoked  time.Time // zero = not revoked
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

// TokenAdmin manages tokens.
type TokenAdmin interface {
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
	// TouchTokens records last-used times in one batch (id → time); a time
	// older than the stored one is ignored, unknown ids are skipped.
	TouchTokens(ctx context.Context, used map[string]time.Time) error
	// DeleteExpiredTokens removes tokens that expired before the given time
	// and returns how many.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)
}
