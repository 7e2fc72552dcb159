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
