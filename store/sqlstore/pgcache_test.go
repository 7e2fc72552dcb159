package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// waitFor polls cond every millisecond for up to limit and reports how long
// it took to hold, failing t when it never did.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// listeningPair opens two stores (two replicas) on one new PostgreSQL
// database and waits until a's read cache listens.
func listeningPair(t *testing.T) (a, b sqlstore.Store) {
	t.Helper()
	dsn := testservers.PostgresDSN(t)
	var err error
	a, err = sqlstore.OpenPostgres(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	b, err = sqlstore.OpenPostgres(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	waitFor(t, 10*time.Second, "a listens", func() bool { return sqlstore.Listening(a) })
	return a, b
}

// Two replicas on one PostgreSQL database: a's reads of users, rules,
// consumers and revoked serials come from its cache once read, and every
// change b commits reaches a (its notification empties a's cache). Tokens
// are never cached there: b's revocation holds on a at once.
func TestPostgresReadCacheHearsOtherReplicas(t *testing.T) {
	ctx := context.Background()
	a, b := listeningPair(t)

	require.NoError(t, b.PutUser(ctx, stores.User{Name: "carol", PasswordHash: "x"}))
	require.NoError(t, b.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}))
	require.NoError(t, b.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "consumer-secret-0123456789"}))
	read := func() (*stores.User, []auth.Rule, *stores.Consumer, bool) {
		u, err := a.User(ctx, "carol")
		require.NoError(t, err)
		rules, err := a.Rules(ctx)
		require.NoError(t, err)
		c, err := a.Consumer(ctx, "katello")
		require.NoError(t, err)
		revoked, err := a.CertRevoked(ctx, "1f")
		require.NoError(t, err)
		return u, rules, c, revoked
	}
	// b's writes notify a: wait until a has heard the last one, then read
	// twice; the second time costs no database read.
	waitFor(t, 5*time.Second, "a sees b's consumer", func() bool { _, _, c, _ := read(); return c.Secret != "" })
	read()
	before := sqlstore.CacheMisses(a)
	for range 10 {
		read()
	}
	assert.Equal(t, before, sqlstore.CacheMisses(a), "users, rules, consumers and serials come from the cache")

	var took []time.Duration
	require.NoError(t, b.PutUser(ctx, stores.User{Name: "carol", PasswordHash: "x", Disabled: true}))
	took = append(took, waitFor(t, time.Second, "a sees carol disabled", func() bool { u, _, _, _ := read(); return u.Disabled }))
	require.NoError(t, b.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Deny}}))
	took = append(took, waitFor(t, time.Second, "a sees the new rules", func() bool { _, r, _, _ := read(); return r[0].Verdict == auth.Deny }))
	require.NoError(t, b.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "another-secret-0123456789", Disabled: true}))
	took = append(took, waitFor(t, time.Second, "a sees the consumer disabled", func() bool { _, _, c, _ := read(); return c.Disabled }))
	require.NoError(t, b.RevokeCert(ctx, "1F"))
	took = append(took, waitFor(t, time.Second, "a sees the serial revoked", func() bool { _, _, _, r := read(); return r }))
	t.Logf("a saw b's changes after %v", took)

	// Tokens are read from the database on every call: no delay at all.
	require.NoError(t, b.PutUser(ctx, stores.User{Name: "dave", PasswordHash: "x"}))
	require.NoError(t, b.CreateToken(ctx, stores.Token{ID: "t1", Hash: "h1", Kind: stores.TokenAccess, User: "dave", Created: time.Now()}))
	tok, err := a.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	require.True(t, tok.Revoked.IsZero())
	require.NoError(t, b.RevokeToken(ctx, "t1", time.Now()))
	tok, err = a.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	assert.False(t, tok.Revoked.IsZero(), "b's revocation holds on a at once")
}

// Losing the listening connection: while a cannot hear notifications it
// reads every call from the database (a change b makes then is seen at
// once), and once it listens again it caches again.
func TestPostgresReadCacheWithoutItsConnection(t *testing.T) {
	ctx := context.Background()
	a, b := listeningPair(t)
	require.NoError(t, b.PutUser(ctx, stores.User{Name: "erin", PasswordHash: "x"}))
	waitFor(t, 5*time.Second, "a sees erin", func() bool { _, err := a.User(ctx, "erin"); return err == nil })

	// Every listening connection of this database (a's and b's) ends.
	_, err := b.DB().ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND (query LIKE 'LISTEN%' OR query LIKE '-- ping%')`)
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "a notices", func() bool { return !sqlstore.Listening(a) })
	require.NoError(t, b.PutUser(ctx, stores.User{Name: "erin", PasswordHash: "x", Disabled: true}))
	if !sqlstore.Listening(a) { // else it came back already, and heard or reread
		before := sqlstore.CacheMisses(a)
		u, err := a.User(ctx, "erin")
		require.NoError(t, err)
		assert.True(t, u.Disabled, "without its connection a reads the database")
		u, err = a.User(ctx, "erin")
		require.NoError(t, err)
		assert.True(t, u.Disabled)
		assert.Equal(t, before, sqlstore.CacheMisses(a), "and caches nothing")
	}
	waitFor(t, 10*time.Second, "a listens again", func() bool { return sqlstore.Listening(a) })
	u, err := a.User(ctx, "erin")
	require.NoError(t, err)
	assert.True(t, u.Disabled)
	before := sqlstore.CacheMisses(a)
	_, err = a.User(ctx, "erin")
	require.NoError(t, err)
	assert.Equal(t, before, sqlstore.CacheMisses(a), "listening again, a caches again")
}
