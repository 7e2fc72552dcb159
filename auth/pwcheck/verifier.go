package pwcheck

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"golang.org/x/sync/singleflight"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/auth/password"
)

// Verifier checks a login and password. It returns the Identity on
// success and an *Error otherwise (ReasonInvalid for a wrong password, an
// unknown or disabled user; ReasonUnavailable when the store fails). Schemes
// that take a password (basic, oauth2, token issuing) call one; the token
// package wraps one to also accept personal access tokens.
//
// The Identity's Scheme is left empty when the password was the user's
// password: the calling scheme fills in its own name. A verifier that accepted
// something else in the password's place (a personal access token) sets
// Scheme to say so.
type Verifier interface {
	VerifyPassword(ctx context.Context, login, password string) (*auth.Identity, error)
}

// StoreVerifier is the Verifier over a UserStore. An unknown user, a
// user without a password and a disabled user cost one hash verification,
// as a wrong password does, so response times do not reveal which logins
// exist.
type StoreVerifier struct {
	Users stores.UserStore
	// DummyHash is verified when there is no real hash to check. Empty means a
	// random argon2id hash with password.DefaultParams, made once; set it to a
	// hash of the same kind and cost as the stored ones if those differ.
	DummyHash string
	// Slots bounds the hashes running at once; nil means DefaultHashSlots,
	// shared by the whole process.
	Slots *HashSlots
	// KeepLegacyHashes turns off the upgrade of legacy hashes: by default,
	// after a successful login against a hash that is not argon2
	// (bcrypt, sha512-crypt, md5-crypt, yescrypt…), the store's hash is
	// replaced with an argon2id hash of the same password, when the store
	// implements PasswordRehasher.
	KeepLegacyHashes bool

	once  sync.Once
	dummy string
	// flights collapse concurrent checks of the very same login and
	// password into one hash.
	flights singleflight.Group
}

const errBadLogin = "invalid user name or password"

func (v *StoreVerifier) dummyHash() string {
	v.once.Do(func() {
		v.dummy = v.DummyHash
		if v.dummy == "" {
			v.dummy = password.Dummy()
		}
	})
	return v.dummy
}

// VerifyPassword implements Verifier. Concurrent checks of the very same
// login and password share one hash: the first runs (and is counted by the
// throttle), the others wait for its answer.
func (v *StoreVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	return checkOnce(ctx, &v.flights, login, pw, v.verify)
}

// checkOnce runs check for login and pw, sharing one run among concurrent
// callers with the very same credentials: the first runs it (and is counted
// by the throttle), the others wait for its answer and tell the throttle
// so. A caller whose shared run was canceled by another client runs its
// own. Each caller gets its own copy of the identity.
func checkOnce(ctx context.Context, flights *singleflight.Group, login, pw string,
	check func(context.Context, string, string) (*auth.Identity, error)) (*auth.Identity, error) {
	// The key lives only while the check runs, in this process's memory,
	// as the password already does.
	key := login + "\x00" + pw
	for {
		val, err, shared := flights.Do(key, func() (any, error) { return check(ctx, login, pw) })
		if err != nil && shared && ctx.Err() == nil && errors.Is(err, context.Canceled) {
			continue // the client whose check this was left; ours has not
		}
		if shared {
			answeredElsewhere(ctx)
		}
		var id *auth.Identity
		if got, _ := val.(*auth.Identity); got != nil {
			c := *got
			id = &c
		}
		return id, err
	}
}

func (v *StoreVerifier) verify(ctx context.Context, login, pw string) (*auth.Identity, error) {
	u, err := v.Users.User(ctx, login)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, User: login, Cause: fmt.Errorf("auth: looking up user: %w", err)}
	}
	if u == nil || u.PasswordHash == "" {
		if err := v.slots().Do(ctx, func() { _, _ = password.Verify(v.dummyHash(), pw) }); err != nil {
			return nil, busy(login, err)
		}
		return nil, &auth.Error{Reason: auth.ReasonInvalid, User: login, Message: errBadLogin, Cause: errors.New("unknown user or no password set")}
	}
	var ok bool
	if err := v.slots().Do(ctx, func() { ok, err = password.Verify(u.PasswordHash, pw) }); err != nil {
		return nil, busy(login, err)
	}
	if err != nil {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, User: login, Message: errBadLogin, Cause: fmt.Errorf("stored hash unusable: %w", err)}
	}
	if !ok {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, User: login, Message: errBadLogin, Cause: errors.New("wrong password")}
	}
	if u.Disabled {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, User: login, Message: errBadLogin, Cause: errors.New("user disabled")}
	}
	v.upgrade(ctx, login, u.PasswordHash, pw)
	return auth.UserIdentity(u, ""), nil
}

func (v *StoreVerifier) slots() *HashSlots {
	if v.Slots != nil {
		return v.Slots
	}
	return DefaultHashSlots
}

// busy turns a refusal of HashSlots.Do into the verifier's error: 503 with
// Retry-After when the slots stayed taken, the same (the client will not
// read it) when the client left.
func busy(login string, err error) *auth.Error {
	e := *auth.AsError(err)
	e.User = login
	return &e
}

// upgrade replaces a legacy hash with argon2id after a successful login (see
// KeepLegacyHashes). A failure leaves the old hash, which still works.
func (v *StoreVerifier) upgrade(ctx context.Context, login, oldHash, pw string) {
	if v.KeepLegacyHashes || strings.HasPrefix(password.Format(oldHash), "argon2") {
		return
	}
	rh, ok := v.Users.(stores.PasswordRehasher)
	if !ok {
		return
	}
	var h string
	var err error
	if v.slots().Do(ctx, func() { h, err = password.Hash(pw) }) == nil && err == nil {
		_ = rh.RehashPassword(ctx, login, oldHash, h)
	}
}
