// Package storetest is the conformance suite every gatehouse store backend
// must pass — memstore, sqlstore on SQLite and PostgreSQL, redisstore — with
// the same assertions; a backend of one's own runs it too.
//
// A backend's test builds a Backend with the interfaces it implements and
// calls Run; interfaces left nil are not tested.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
)

// Backend lists what a backend implements; nil fields are skipped.
type Backend struct {
	Users stores.UserAdmin
	// Rules is a rule table with SetRules, which replaces it (memstore
	// and sqlstore have it).
	Rules     ruleSetter
	Tokens    stores.TokenAdmin
	Sessions  stores.SessionStore
	Consumers stores.ConsumerAdmin
	Clients   stores.ClientAdmin
	Nonces    stores.NonceStore
	Certs     stores.CertAdmin
	Failures  stores.FailureCounter
}

// Run runs the conformance suite.
func Run(t *testing.T, b Backend) {
	ctx := context.Background()
	if b.Users != nil {
		t.Run("users", func(t *testing.T) { users(t, ctx, b.Users) })
	}
	if b.Users != nil && b.Tokens != nil {
		t.Run("account binding", func(t *testing.T) { accountBinding(t, ctx, b.Users, b.Tokens, b.Sessions) })
	}
	if b.Rules != nil {
		t.Run("rules", func(t *testing.T) { rules(t, ctx, b.Rules) })
	}
	if b.Tokens != nil {
		t.Run("tokens", func(t *testing.T) { tokens(t, ctx, b.Tokens) })
	}
	if b.Sessions != nil {
		t.Run("sessions", func(t *testing.T) { sessions(t, ctx, b.Sessions) })
	}
	if b.Consumers != nil {
		t.Run("consumers", func(t *testing.T) {
			_, err := b.Consumers.Consumer(ctx, "k")
			assert.ErrorIs(t, err, stores.ErrNotFound)
			c := stores.Consumer{Key: "k", Secret: "s+/=&-0123456789ab", RSAPublicKeyPEM: "-----BEGIN PUBLIC KEY-----", Methods: []string{"HMAC-SHA1", "RSA-SHA1"}, Users: []string{"a", "b"}, Mapping: stores.ConsumerMapSigned}
			require.NoError(t, b.Consumers.PutConsumer(ctx, c))
			got, err := b.Consumers.Consumer(ctx, "k")
			require.NoError(t, err)
			assert.Equal(t, c, *got)
			// A consumer with neither a secret nor a key, or a short secret,
			// would verify signatures made with an empty or guessable key.
			for _, bad := range []stores.Consumer{
				{Key: "k"},
				{Key: "k", Secret: "short"},
				{Key: "k", RSAPublicKeyPEM: "-----BEGIN PUBLIC KEY-----", Methods: []string{"HMAC-SHA1"}},
				{Key: "", Secret: "0123456789abcdef"},
				{Key: "k", Secret: "0123456789abcdef", Mapping: "admin"},
			} {
				assert.Error(t, b.Consumers.PutConsumer(ctx, bad), "%+v", bad)
			}
			got, _ = b.Consumers.Consumer(ctx, "k")
			assert.Equal(t, c, *got, "a refused consumer changes nothing")
			c.Disabled, c.Users, c.Mapping = true, nil, stores.ConsumerMapDefault
			require.NoError(t, b.Consumers.PutConsumer(ctx, c))
			got, _ = b.Consumers.Consumer(ctx, "k")
			assert.Equal(t, c, *got)
		})
	}
	if b.Clients != nil {
		t.Run("clients", func(t *testing.T) {
			_, err := b.Clients.Client(ctx, "c")
			assert.ErrorIs(t, err, stores.ErrNotFound)
			c := stores.Client{ID: "c", SecretHash: "$argon2id$x", Scopes: []string{"ovirt-app-api"}, Grants: []string{"password"}}
			require.NoError(t, b.Clients.PutClient(ctx, c))
			got, err := b.Clients.Client(ctx, "c")
			require.NoError(t, err)
			assert.Equal(t, c, *got)
		})
	}
	if b.Nonces != nil {
		t.Run("nonces", func(t *testing.T) { nonces(t, ctx, b.Nonces) })
	}
	if b.Certs != nil {
		t.Run("certs", func(t *testing.T) {
			revoked, err := b.Certs.CertRevoked(ctx, "abc123")
			require.NoError(t, err)
			assert.False(t, revoked)
			require.NoError(t, b.Certs.RevokeCert(ctx, "ABC123"))
			require.NoError(t, b.Certs.RevokeCert(ctx, "abc123"), "revoking twice is fine")
			revoked, err = b.Certs.CertRevoked(ctx, "abc123")
			require.NoError(t, err)
			assert.True(t, revoked, "serials compare case-insensitively")
			// openssl x509 -serial prints upper-case hex with leading zeros.
			require.NoError(t, b.Certs.RevokeCert(ctx, "serial=0F1E2D"))
			for _, form := range []string{"f1e2d", "0f:1e:2d", "0x0F1E2D"} {
				revoked, err = b.Certs.CertRevoked(ctx, form)
				require.NoError(t, err)
				assert.True(t, revoked, form)
			}
			assert.Error(t, b.Certs.RevokeCert(ctx, "not-a-serial"), "a serial that does not parse is refused, not stored")
			_, err = b.Certs.CertRevoked(ctx, "zz")
			assert.Error(t, err)
		})
	}
	if b.Failures != nil {
		t.Run("failures", func(t *testing.T) { failures(t, ctx, b.Failures) })
	}
	t.Run("hostile keys", func(t *testing.T) { hostileKeys(t, ctx, b) })
}

// unstorable are keys no backend can hold (stores.Storable): PostgreSQL
// refuses NUL and invalid UTF-8, and a unique index a 4 KiB key.
var unstorable = []string{"adm\x00in", "adm\xffin", "admin\xc3", "\x00", strings.Repeat("k", 4096)}

// maxKeyBytes is the longest key every store holds (auth/stores' limit).
const maxKeyBytes = 1024

// storable are keys callers really pass that every backend holds as they
// are: non-ASCII, punctuation that joins keys, and the longest allowed.
var storable = []string{"ünïcødé-用户", "a:b", "b:c", "sha256:00ff", "10.0.0.1 user", strings.Repeat("k", maxKeyBytes)}

// hostileKeys: every backend stores and finds storable keys, and answers
// unstorable ones the same way — not found on a lookup, stores.ErrInvalid
// on a write — never a store failure.
func hostileKeys(t *testing.T, ctx context.Context, b Backend) {
	exp := time.Now().Add(time.Minute)
	for _, k := range unstorable {
		if b.Users != nil {
			_, err := b.Users.User(ctx, k)
			assert.ErrorIs(t, err, stores.ErrNotFound, "User(%q)", k)
			assert.ErrorIs(t, b.Users.PutUser(ctx, stores.User{Name: k, PasswordHash: "x"}), stores.ErrInvalid, "PutUser(%q)", k)
			if f, ok := b.Users.(stores.UserFolder); ok {
				_, err := f.UserFold(ctx, k)
				assert.ErrorIs(t, err, stores.ErrNotFound, "UserFold(%q)", k)
			}
		}
		if b.Consumers != nil {
			_, err := b.Consumers.Consumer(ctx, k)
			assert.ErrorIs(t, err, stores.ErrNotFound, "Consumer(%q)", k)
			assert.ErrorIs(t, b.Consumers.PutConsumer(ctx, stores.Consumer{Key: k, Secret: "0123456789abcdef0123"}), stores.ErrInvalid, "PutConsumer(%q)", k)
		}
		if b.Clients != nil {
			_, err := b.Clients.Client(ctx, k)
			assert.ErrorIs(t, err, stores.ErrNotFound, "Client(%q)", k)
			assert.ErrorIs(t, b.Clients.PutClient(ctx, stores.Client{ID: k}), stores.ErrInvalid, "PutClient(%q)", k)
		}
		if b.Nonces != nil {
			_, err := b.Nonces.UseNonce(ctx, "k", k, exp)
			assert.ErrorIs(t, err, stores.ErrInvalid, "UseNonce(nonce %q)", k)
			_, err = b.Nonces.UseNonce(ctx, k, "n", exp)
			assert.ErrorIs(t, err, stores.ErrInvalid, "UseNonce(consumer %q)", k)
		}
		if b.Failures != nil {
			n, _, err := b.Failures.Failures(ctx, "user", k)
			assert.NoError(t, err, "Failures(%q)", k)
			assert.Zero(t, n)
			_, _, err = b.Failures.AddFailure(ctx, "user", k, time.Minute)
			assert.ErrorIs(t, err, stores.ErrInvalid, "AddFailure(%q)", k)
			assert.NoError(t, b.Failures.RemoveFailure(ctx, "user", k))
			assert.NoError(t, b.Failures.ResetFailures(ctx, "user", k))
		}
	}
	suffix := fmt.Sprint(time.Now().UnixNano()) // Redis and PostgreSQL outlive a run
	for _, k := range storable {
		if b.Users != nil && len(k) < 200 {
			login := k + suffix
			require.NoError(t, b.Users.PutUser(ctx, stores.User{Name: login, PasswordHash: "x"}), "PutUser(%q)", login)
			u, err := b.Users.User(ctx, login)
			require.NoError(t, err, "User(%q)", login)
			assert.Equal(t, login, u.Name)
		}
		if b.Consumers != nil {
			c := stores.Consumer{Key: k, Secret: "0123456789abcdef0123"}
			require.NoError(t, b.Consumers.PutConsumer(ctx, c), "PutConsumer(%q)", k)
			got, err := b.Consumers.Consumer(ctx, k)
			require.NoError(t, err, "Consumer(%q)", k)
			assert.Equal(t, k, got.Key)
		}
		if b.Failures != nil {
			key := k + suffix
			if len(key) > maxKeyBytes {
				key = key[len(key)-maxKeyBytes:]
			}
			n, _, err := b.Failures.AddFailure(ctx, "user-addr", key, time.Minute)
			require.NoError(t, err, "AddFailure(%q)", k)
			assert.Equal(t, 1, n)
			n, _, _ = b.Failures.Failures(ctx, "user-addr", key)
			assert.Equal(t, 1, n, "Failures(%q)", k)
		}
	}
	if b.Nonces != nil {
		// Keys joined from parts must not collide: nonce "b:c" of consumer
		// "a" and nonce "c" of consumer "a:b" are two nonces (one Redis key
		// when the parts were only joined with ":").
		consumer := "a" + suffix
		fresh, err := b.Nonces.UseNonce(ctx, consumer, "b:c", exp)
		require.NoError(t, err)
		assert.True(t, fresh)
		fresh, err = b.Nonces.UseNonce(ctx, consumer+":b", "c", exp)
		require.NoError(t, err)
		assert.True(t, fresh, "a different consumer and nonce whose parts join to the same string is fresh")
		for _, k := range storable {
			fresh, err := b.Nonces.UseNonce(ctx, "n"+consumer, k, exp)
			require.NoError(t, err, "UseNonce(%q)", k)
			assert.True(t, fresh, "UseNonce(%q)", k)
			fresh, _ = b.Nonces.UseNonce(ctx, "n"+consumer, k, exp)
			assert.False(t, fresh, "UseNonce(%q) replayed", k)
		}
	}
}

func users(t *testing.T, ctx context.Context, s stores.UserAdmin) {
	_, err := s.User(ctx, "admin@internal")
	assert.ErrorIs(t, err, stores.ErrNotFound)
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h1", Groups: []string{"ops", "admin"}}))
	u, err := s.User(ctx, "admin@internal")
	require.NoError(t, err)
	assert.Equal(t, "admin", u.Name)
	assert.Equal(t, "internal", u.Domain)
	assert.Equal(t, "h1", u.PasswordHash)
	assert.Equal(t, []string{"ops", "admin"}, u.Groups)
	assert.False(t, u.Updated.IsZero())
	first := u.Updated

	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h2", Disabled: true}))
	u, err = s.User(ctx, "admin@internal")
	require.NoError(t, err)
	assert.Equal(t, "h2", u.PasswordHash)
	assert.True(t, u.Disabled)
	assert.Nil(t, u.Groups)
	assert.True(t, u.Updated.After(first), "Updated moves on every change")
	assert.NotEmpty(t, u.ID, "the store gives every account an ID")
	id1, pwChanged := u.ID, u.PasswordChanged
	assert.True(t, pwChanged.Equal(u.Updated), "a new hash is a password change")

	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h2", Groups: []string{"x"}}))
	u, _ = s.User(ctx, "admin@internal")
	assert.Equal(t, id1, u.ID, "a replaced account keeps its ID")
	assert.True(t, u.PasswordChanged.Equal(pwChanged), "the same hash is no password change")
	if rh, ok := s.(stores.PasswordRehasher); ok {
		before := u.Updated
		require.NoError(t, rh.RehashPassword(ctx, "admin@internal", "not-the-hash", "h9"))
		u, _ = s.User(ctx, "admin@internal")
		assert.Equal(t, "h2", u.PasswordHash, "a rehash applies only to the hash it replaces")
		require.NoError(t, rh.RehashPassword(ctx, "admin@internal", "h2", "h3"))
		u, _ = s.User(ctx, "admin@internal")
		assert.Equal(t, "h3", u.PasswordHash)
		assert.True(t, u.Updated.Equal(before), "a rehash keeps Updated")
		assert.True(t, u.PasswordChanged.Equal(pwChanged), "a rehash keeps PasswordChanged")
	}

	require.NoError(t, s.PutUser(ctx, stores.User{Name: "JSmith"}))
	if f, ok := s.(stores.UserFolder); ok {
		got, err := f.UserFold(ctx, "jsmith")
		require.NoError(t, err)
		assert.Equal(t, "JSmith", got.Name)
	}
	list, err := s.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "JSmith", list[0].Login())
	assert.Equal(t, "admin@internal", list[1].Login())
	require.NoError(t, s.DeleteUser(ctx, "JSmith"))
	assert.ErrorIs(t, s.DeleteUser(ctx, "JSmith"), stores.ErrNotFound)
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h3"}))
	require.NoError(t, s.DeleteUser(ctx, "admin@internal"))
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h3"}))
	u, _ = s.User(ctx, "admin@internal")
	assert.NotEqual(t, id1, u.ID, "an account created again under the same login is another account")
	require.NoError(t, s.DeleteUser(ctx, "admin@internal"))
}

// accountBinding: deleting a user revokes its tokens and ends its sessions.
func accountBinding(t *testing.T, ctx context.Context, users stores.UserAdmin, tokens stores.TokenAdmin, sessions stores.SessionStore) {
	require.NoError(t, users.PutUser(ctx, stores.User{Name: "leaver", PasswordHash: "h"}))
	u, err := users.User(ctx, "leaver")
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, tokens.CreateToken(ctx, stores.Token{ID: "leaver-pat", Hash: "leaver-h", Kind: stores.TokenPAT, User: "leaver", UserID: u.ID, Name: "n", Created: now}))
	if sessions != nil {
		require.NoError(t, sessions.CreateSession(ctx, stores.Session{Hash: "leaver-s", User: "leaver", UserID: u.ID, Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(time.Hour)}))
	}
	require.NoError(t, users.DeleteUser(ctx, "leaver"))
	tok, err := tokens.TokenByID(ctx, "leaver-pat")
	require.NoError(t, err)
	assert.False(t, tok.Revoked.IsZero(), "deleting a user revokes its tokens")
	if sessions != nil {
		_, err = sessions.SessionByHash(ctx, "leaver-s")
		assert.ErrorIs(t, err, stores.ErrNotFound, "deleting a user ends its sessions")
	}
}

// ruleSetter is a rule table that can be replaced.
type ruleSetter interface {
	auth.PolicyStore
	SetRules(ctx context.Context, rules []auth.Rule) error
}

func rules(t *testing.T, ctx context.Context, s ruleSetter) {
	want := []auth.Rule{
		{Priority: 4.4, Subject: "*", Methods: []string{"GET", "HEAD"}, Path: "/api/**", Verdict: auth.Allow, Comment: "read"},
		{Priority: 1.2, Subject: "group:admin", Verdict: auth.Allow},
		{Priority: 9, Subject: "mallory", Verdict: auth.Deny, Disabled: true},
	}
	require.NoError(t, s.SetRules(ctx, want))
	got, err := s.Rules(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got, "stored in order, every field kept")
	got[0].Subject = "changed by the caller" // the CLI sorts and deletes in what it gets
	slices.Reverse(got)
	again, err := s.Rules(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, again, "what a caller does to the rules it got changes nothing stored")
	assert.Error(t, s.SetRules(ctx, []auth.Rule{{Priority: 1, Verdict: "disallow"}}))
	got, _ = s.Rules(ctx)
	assert.Equal(t, want, got, "a rejected update loses nothing")
	require.NoError(t, s.SetRules(ctx, nil))
	got, _ = s.Rules(ctx)
	assert.Empty(t, got)
}

func tokens(t *testing.T, ctx context.Context, s stores.TokenAdmin) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok := stores.Token{ID: "t1", Hash: "h1", Kind: stores.TokenPAT, User: "admin", UserID: "uid-1", ClientID: "app", Family: "fam-0", PasswordStamp: base.Add(-time.Hour), Name: "ci", Scopes: []string{"a"}, Created: base, Expires: base.Add(time.Hour), CertThumbprint: "x5t-thumbprint"}
	require.NoError(t, s.CreateToken(ctx, tok))
	got, err := s.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	assertToken(t, tok, *got)
	got, err = s.TokenByID(ctx, "t1")
	require.NoError(t, err)
	assertToken(t, tok, *got)
	_, err = s.TokenByHash(ctx, "nope")
	assert.ErrorIs(t, err, stores.ErrNotFound)
	_, err = s.TokenByHash(ctx, "")
	assert.ErrorIs(t, err, stores.ErrNotFound)

	assert.ErrorIs(t, s.CreateToken(ctx, stores.Token{ID: "t1", Hash: "other", Kind: stores.TokenAccess, User: "admin"}), stores.ErrConflict, "id taken")
	assert.ErrorIs(t, s.CreateToken(ctx, stores.Token{ID: "t2", Hash: "h1", Kind: stores.TokenAccess, User: "admin"}), stores.ErrConflict, "hash taken")
	assert.ErrorIs(t, s.CreateToken(ctx, stores.Token{ID: "t3", Hash: "h3", Kind: stores.TokenPAT, User: "admin", Name: "ci"}), stores.ErrConflict, "PAT name taken")
	require.NoError(t, s.CreateToken(ctx, stores.Token{ID: "t4", Hash: "h4", Kind: stores.TokenPAT, User: "other", Name: "ci", Created: base}))
	require.NoError(t, s.CreateToken(ctx, stores.Token{ID: "j1", Kind: stores.TokenJWT, User: "admin", Created: base.Add(time.Second)}))
	require.NoError(t, s.CreateToken(ctx, stores.Token{ID: "j2", Kind: stores.TokenJWT, User: "admin", Created: base.Add(2 * time.Second)}), "JWT records have no hash")

	list, err := s.ListTokens(ctx, "admin", "")
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, []string{"t1", "j1", "j2"}, []string{list[0].ID, list[1].ID, list[2].ID}, "oldest first")
	list, _ = s.ListTokens(ctx, "admin", stores.TokenPAT)
	assert.Len(t, list, 1)

	// Coalesced last-used times: newer wins, unknown ids skipped.
	require.NoError(t, s.TouchTokens(ctx, map[string]time.Time{"t1": base.Add(time.Minute), "ghost": base}))
	require.NoError(t, s.TouchTokens(ctx, map[string]time.Time{"t1": base.Add(time.Second)}))
	got, _ = s.TokenByID(ctx, "t1")
	assert.True(t, got.LastUsed.Equal(base.Add(time.Minute)))

	require.NoError(t, s.RevokeToken(ctx, "t1", base.Add(2*time.Minute)))
	require.NoError(t, s.RevokeToken(ctx, "t1", base.Add(3*time.Minute)))
	got, _ = s.TokenByHash(ctx, "h1")
	assert.True(t, got.Revoked.Equal(base.Add(2*time.Minute)), "the first revocation time stays")
	assert.False(t, got.Active(base.Add(2*time.Minute)))
	assert.ErrorIs(t, s.RevokeToken(ctx, "ghost", base), stores.ErrNotFound)

	// Single use, under contention: exactly one winner.
	require.NoError(t, s.CreateToken(ctx, stores.Token{ID: "r1", Hash: "hr1", Kind: stores.TokenRefresh, User: "admin", Created: base}))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ConsumeToken(ctx, "r1", base)
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, wins.Load())
	_, err = s.ConsumeToken(ctx, "ghost", base)
	assert.ErrorIs(t, err, stores.ErrNotFound)

	// A grant family is revoked as one (refresh-token reuse).
	for _, id := range []string{"fa", "fb", "fc"} {
		require.NoError(t, s.CreateToken(ctx, stores.Token{ID: id, Hash: "h" + id, Kind: stores.TokenRefresh, User: "admin", Family: "fam-1", Created: base}))
	}
	require.NoError(t, s.CreateToken(ctx, stores.Token{ID: "fz", Hash: "hfz", Kind: stores.TokenRefresh, User: "admin", Family: "fam-2", Created: base}))
	require.NoError(t, s.RevokeToken(ctx, "fa", base))
	n, err := s.RevokeFamily(ctx, "fam-1", base.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "fb and fc; fa was revoked already")
	for _, id := range []string{"fa", "fb", "fc"} {
		got, _ := s.TokenByID(ctx, id)
		assert.False(t, got.Revoked.IsZero(), id)
	}
	got, _ = s.TokenByID(ctx, "fz")
	assert.True(t, got.Revoked.IsZero(), "another family is untouched")
	n, _ = s.RevokeFamily(ctx, "", base)
	assert.Zero(t, n, "the empty family is no family")

	n, err = s.DeleteExpiredTokens(ctx, base.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only t1 had an expiry")
	_, err = s.TokenByID(ctx, "t1")
	assert.ErrorIs(t, err, stores.ErrNotFound)
}

func assertToken(t *testing.T, want, got stores.Token) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Hash, got.Hash)
	assert.Equal(t, want.Kind, got.Kind)
	assert.Equal(t, want.User, got.User)
	assert.Equal(t, want.UserID, got.UserID)
	assert.Equal(t, want.ClientID, got.ClientID)
	assert.Equal(t, want.CertThumbprint, got.CertThumbprint)
	assert.Equal(t, want.Family, got.Family)
	assert.True(t, want.PasswordStamp.Equal(got.PasswordStamp), "password stamp")
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Scopes, got.Scopes)
	assert.True(t, want.Created.Equal(got.Created), "created")
	assert.True(t, want.Expires.Equal(got.Expires), "expires")
	assert.True(t, got.LastUsed.IsZero())
	assert.True(t, got.Revoked.IsZero())
}

func sessions(t *testing.T, ctx context.Context, s stores.SessionStore) {
	now := time.Now().Truncate(time.Microsecond)
	x := stores.Session{Hash: "sh1", User: "admin@internal", UserID: "uid-1", Credential: "token:abc", Scheme: "basic", Scopes: []string{"ovirt-app-api"}, UserUpdated: now.Add(-time.Hour),
		Created: now, LastSeen: now, IdleTimeout: 30 * time.Minute, Expires: now.Add(8 * time.Hour), CSRF: true}
	require.NoError(t, s.CreateSession(ctx, x))
	assert.ErrorIs(t, s.CreateSession(ctx, x), stores.ErrConflict)
	got, err := s.SessionByHash(ctx, "sh1")
	require.NoError(t, err)
	assert.Equal(t, x.User, got.User)
	assert.Equal(t, x.UserID, got.UserID)
	assert.Equal(t, x.Credential, got.Credential)
	assert.Equal(t, x.Scheme, got.Scheme)
	assert.Equal(t, x.Scopes, got.Scopes)
	assert.True(t, x.UserUpdated.Equal(got.UserUpdated))
	assert.True(t, x.Created.Equal(got.Created))
	assert.True(t, x.LastSeen.Equal(got.LastSeen))
	assert.True(t, x.Expires.Equal(got.Expires))
	assert.Equal(t, x.IdleTimeout, got.IdleTimeout)
	assert.True(t, got.CSRF)

	require.NoError(t, s.TouchSession(ctx, "sh1", now.Add(time.Minute)))
	require.NoError(t, s.TouchSession(ctx, "sh1", now.Add(time.Second)), "an older touch is ignored")
	got, _ = s.SessionByHash(ctx, "sh1")
	assert.True(t, got.LastSeen.Equal(now.Add(time.Minute)))
	assert.ErrorIs(t, s.TouchSession(ctx, "ghost", now), stores.ErrNotFound)

	require.NoError(t, s.DeleteSession(ctx, "sh1"))
	require.NoError(t, s.DeleteSession(ctx, "sh1"))
	_, err = s.SessionByHash(ctx, "sh1")
	assert.ErrorIs(t, err, stores.ErrNotFound)

	// Every backend caps one login's sessions, keeping the newest.
	capper, ok := s.(stores.SessionCapper)
	require.True(t, ok, "%T does not implement stores.SessionCapper", s)
	login := fmt.Sprint("capped-", now.UnixNano())
	for i := range 6 {
		y := x
		y.Hash, y.User, y.Created = fmt.Sprint(login, "-", i), login, now.Add(time.Duration(i)*time.Second)
		require.NoError(t, s.CreateSession(ctx, y))
	}
	other := x
	other.Hash, other.User = login+"-other", "other-"+login
	require.NoError(t, s.CreateSession(ctx, other))
	require.NoError(t, s.DeleteSession(ctx, login+"-5")) // ended already: not counted
	n, err := capper.CapSessions(ctx, login, 2)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	for i, want := range []bool{false, false, false, true, true, false} {
		_, err := s.SessionByHash(ctx, fmt.Sprint(login, "-", i))
		assert.Equal(t, want, err == nil, "session %d kept", i)
	}
	_, err = s.SessionByHash(ctx, other.Hash)
	assert.NoError(t, err, "another login's session is untouched")
	n, err = capper.CapSessions(ctx, login, 2)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func nonces(t *testing.T, ctx context.Context, s stores.NonceStore) {
	exp := time.Now().Add(time.Minute)
	fresh, err := s.UseNonce(ctx, "k", "n+/=", exp)
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = s.UseNonce(ctx, "k", "n+/=", exp)
	require.NoError(t, err)
	assert.False(t, fresh, "replay")
	fresh, _ = s.UseNonce(ctx, "k2", "n+/=", exp)
	assert.True(t, fresh, "per consumer")

	// Concurrent use of one nonce: exactly one fresh.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.UseNonce(ctx, "k", "race", exp)
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, wins.Load())

	// An expired nonce is forgotten.
	short := time.Now().Add(50 * time.Millisecond)
	fresh, _ = s.UseNonce(ctx, "k", "short", short)
	require.True(t, fresh)
	time.Sleep(120 * time.Millisecond)
	fresh, err = s.UseNonce(ctx, "k", "short", time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, fresh)
}

func failures(t *testing.T, ctx context.Context, s stores.FailureCounter) {
	key := fmt.Sprint("10.0.0.", time.Now().UnixNano()%250)
	n, _, err := s.Failures(ctx, "addr", key)
	require.NoError(t, err)
	assert.Zero(t, n)
	var left time.Duration
	for i := 1; i <= 3; i++ {
		n, left, err = s.AddFailure(ctx, "addr", key, 200*time.Millisecond)
		require.NoError(t, err)
		assert.Equal(t, i, n)
	}
	assert.True(t, left > 0 && left <= 200*time.Millisecond, "time left %v is within the window", left)
	n, l2, err := s.Failures(ctx, "addr", key)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.InDelta(t, float64(left), float64(l2), float64(50*time.Millisecond))
	// A reservation taken back (never below zero).
	require.NoError(t, s.RemoveFailure(ctx, "addr", key))
	n, _, _ = s.Failures(ctx, "addr", key)
	assert.Equal(t, 2, n)
	require.NoError(t, s.RemoveFailure(ctx, "addr", "never-seen"))
	// Concurrent failures each see their own count (the throttle reserves
	// attempts with them).
	seen := make(chan int, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, _, err := s.AddFailure(ctx, "user", "race-"+key, time.Minute)
			assert.NoError(t, err)
			seen <- n
		}()
	}
	wg.Wait()
	close(seen)
	counts := map[int]bool{}
	for n := range seen {
		counts[n] = true
	}
	assert.Len(t, counts, 20, "every concurrent AddFailure got a distinct count")
	n, _, _ = s.Failures(ctx, "user", key)
	assert.Zero(t, n, "scopes are separate")
	time.Sleep(300 * time.Millisecond)
	n, _, _ = s.Failures(ctx, "addr", key)
	assert.Zero(t, n, "the window ended")
	_, _, _ = s.AddFailure(ctx, "user", key, time.Minute)
	require.NoError(t, s.ResetFailures(ctx, "user", key))
	n, _, _ = s.Failures(ctx, "user", key)
	assert.Zero(t, n)
}
