package sqlstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// serverAndCLI opens two stores on one new SQLite file: the server and the
// CLI, with separate pools, as separate processes have.
func serverAndCLI(t *testing.T) (server, cli sqlstore.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	server, err := sqlstore.OpenSQLite(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { server.Close() })
	cli, err = sqlstore.OpenSQLite(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	return server, cli
}

// watchedAlice is serverAndCLI with alice (password hash "h0") made by
// the CLI and cached by the server; it skips t where the server cannot
// watch SQLite's shared WAL index.
func watchedAlice(t *testing.T) (server, cli sqlstore.Store) {
	t.Helper()
	server, cli = serverAndCLI(t)
	require.NoError(t, cli.PutUser(context.Background(), stores.User{Name: "alice", PasswordHash: "h0"}))
	_, err := server.User(context.Background(), "alice")
	require.NoError(t, err)
	if !sqlstore.WALWatched(server) {
		t.Skip("no shared WAL index on this system: the read cache asks SQLite once a millisecond instead")
	}
	return server, cli
}

// settle waits past the read cache's freshness interval, so that a commit
// by another store is looked for even without the WAL watch.
func settle() { time.Sleep(3 * time.Millisecond) }

// TestReadCacheSeesOtherWriters: two stores on one SQLite file stand for
// the server and the CLI (separate pools, as separate processes have).
// Users and rules the server has cached are read again once the other
// store commits a change: a disabled user, a new password, a deny rule, a
// deleted user. The server's own writes are seen at once.
func TestReadCacheSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	server, cliStore := serverAndCLI(t)

	require.NoError(t, cliStore.PutUser(ctx, stores.User{Name: "alice", PasswordHash: "h1"}))
	require.NoError(t, cliStore.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}))
	settle()
	for range 3 { // read, then served from the cache
		u, err := server.User(ctx, "alice")
		require.NoError(t, err)
		assert.False(t, u.Disabled)
		rules, err := server.Rules(ctx)
		require.NoError(t, err)
		require.Len(t, rules, 1)
	}

	require.NoError(t, cliStore.PutUser(ctx, stores.User{Name: "alice", PasswordHash: "h2", Disabled: true}))
	require.NoError(t, cliStore.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "alice", Verdict: auth.Deny}, {Priority: 2, Subject: "*", Verdict: auth.Allow}}))
	settle()
	u, err := server.User(ctx, "alice")
	require.NoError(t, err)
	assert.True(t, u.Disabled, "another process disabled alice")
	assert.Equal(t, "h2", u.PasswordHash)
	rules, err := server.Rules(ctx)
	require.NoError(t, err)
	assert.Len(t, rules, 2, "another process added a rule")

	require.NoError(t, cliStore.DeleteUser(ctx, "alice"))
	settle()
	_, err = server.User(ctx, "alice")
	assert.ErrorIs(t, err, stores.ErrNotFound, "another process deleted alice")

	// The server's own writes: no waiting.
	require.NoError(t, server.PutUser(ctx, stores.User{Name: "bob", PasswordHash: "b1"}))
	_, err = server.User(ctx, "bob")
	require.NoError(t, err)
	require.NoError(t, server.PutUser(ctx, stores.User{Name: "bob", PasswordHash: "b2"}))
	u, err = server.User(ctx, "bob")
	require.NoError(t, err)
	assert.Equal(t, "b2", u.PasswordHash)
	require.NoError(t, server.SetRules(ctx, nil))
	rules, err = server.Rules(ctx)
	require.NoError(t, err)
	assert.Empty(t, rules)

	// Tokens: a revocation elsewhere, and here, is seen.
	tok := stores.Token{ID: "t1", Hash: "hash-1", Kind: stores.TokenAccess, User: "bob", Scopes: []string{"a"}, Created: time.Now()}
	require.NoError(t, cliStore.CreateToken(ctx, tok))
	settle()
	for range 2 {
		got, err := server.TokenByHash(ctx, "hash-1")
		require.NoError(t, err)
		assert.True(t, got.Revoked.IsZero())
	}
	require.NoError(t, cliStore.RevokeToken(ctx, "t1", time.Now()))
	settle()
	got, err := server.TokenByHash(ctx, "hash-1")
	require.NoError(t, err)
	assert.False(t, got.Revoked.IsZero(), "another process revoked the token")
	tok2 := stores.Token{ID: "t2", Hash: "hash-2", Kind: stores.TokenAccess, User: "bob", Created: time.Now()}
	require.NoError(t, server.CreateToken(ctx, tok2))
	_, err = server.TokenByHash(ctx, "hash-2")
	require.NoError(t, err)
	require.NoError(t, server.RevokeToken(ctx, "t2", time.Now()))
	got, err = server.TokenByHash(ctx, "hash-2")
	require.NoError(t, err)
	assert.False(t, got.Revoked.IsZero(), "this process revoked the token")

	// Certificates: a revocation elsewhere is seen.
	revoked, err := server.CertRevoked(ctx, "0a1b")
	require.NoError(t, err)
	assert.False(t, revoked)
	require.NoError(t, cliStore.RevokeCert(ctx, "0A:1B"))
	settle()
	revoked, err = server.CertRevoked(ctx, "0a1b")
	require.NoError(t, err)
	assert.True(t, revoked, "another process revoked the certificate")

	// Sessions: another process's delete, and this process's touch and
	// delete, are seen by the next read.
	now := time.Now().Truncate(time.Microsecond)
	sess := stores.Session{Hash: "s1", User: "bob", Scheme: "basic", Scopes: []string{"x"}, Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(time.Hour)}
	require.NoError(t, server.CreateSession(ctx, sess))
	for range 2 {
		x, err := server.SessionByHash(ctx, "s1")
		require.NoError(t, err)
		assert.True(t, x.LastSeen.Equal(now))
	}
	later := now.Add(time.Minute)
	require.NoError(t, server.TouchSession(ctx, "s1", later))
	x, err := server.SessionByHash(ctx, "s1")
	require.NoError(t, err)
	assert.True(t, x.LastSeen.Equal(later), "this process touched the session")
	x.Scopes[0] = "changed"
	x, _ = server.SessionByHash(ctx, "s1")
	assert.Equal(t, []string{"x"}, x.Scopes, "the caller's own copy")
	require.NoError(t, cliStore.DeleteSession(ctx, "s1"))
	settle()
	_, err = server.SessionByHash(ctx, "s1")
	assert.ErrorIs(t, err, stores.ErrNotFound, "another process ended the session")
	require.NoError(t, server.CreateSession(ctx, stores.Session{Hash: "s2", User: "bob", Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(time.Hour)}))
	_, err = server.SessionByHash(ctx, "s2")
	require.NoError(t, err)
	require.NoError(t, server.DeleteSession(ctx, "s2"))
	_, err = server.SessionByHash(ctx, "s2")
	assert.ErrorIs(t, err, stores.ErrNotFound, "this process ended the session")

	// What the cache returns is the caller's own copy.
	require.NoError(t, server.PutUser(ctx, stores.User{Name: "carol", Groups: []string{"ops"}}))
	u, _ = server.User(ctx, "carol")
	u.Groups[0] = "admin"
	u, _ = server.User(ctx, "carol")
	assert.Equal(t, []string{"ops"}, u.Groups)
}

// BenchmarkUserAndRules is what every request reads, with and without the
// read cache (SQLite).
func BenchmarkUserAndRules(b *testing.B) {
	ctx := context.Background()
	for _, noCache := range []bool{false, true} {
		s, err := sqlstore.Open(ctx, sqlstore.Config{SQLitePath: filepath.Join(b.TempDir(), "g.db"), NoReadCache: noCache})
		require.NoError(b, err)
		require.NoError(b, s.PutUser(ctx, stores.User{Name: "wsuser", PasswordHash: "x"}))
		require.NoError(b, s.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}))
		name := "cached"
		if noCache {
			name = "NoReadCache"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.User(ctx, "wsuser"); err != nil {
						b.Fatal(err)
					}
					if _, err := s.Rules(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		s.Close()
	}
}

// copyingRules hides a store's SharedRules: RuleTable then asks Rules,
// which copies the table for each request.
type copyingRules struct{ auth.PolicyStore }

// BenchmarkRuleTable authorizes a request against 1 and 10³ rules read
// through the read cache, as every request does: with the table lent
// (SharedRules) and copied (Rules). The 10³ table is 999 rules for other
// users' paths and, last, the one that allows.
func BenchmarkRuleTable(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 1000} {
		s, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "g.db"))
		require.NoError(b, err)
		var rules []auth.Rule
		for i := range n - 1 {
			rules = append(rules, auth.Rule{Priority: float64(i + 1), Subject: fmt.Sprintf("user%d", i), Methods: []string{"GET"},
				Path: fmt.Sprintf("/api/hosts/%d/**", i), Verdict: auth.Allow})
		}
		rules = append(rules, auth.Rule{Priority: float64(n), Subject: "*", Verdict: auth.Allow})
		require.NoError(b, s.SetRules(ctx, rules))
		id := &auth.Identity{User: "wsuser", Scheme: auth.SchemeBasic}
		req := httptest.NewRequest("GET", "https://gatehouse.example/api/hosts/7", nil)
		for _, c := range []struct {
			name  string
			table auth.RuleTable
		}{{"lent", auth.RuleTable{Store: s}}, {"copied", auth.RuleTable{Store: copyingRules{s}}}} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := c.table.Authorize(ctx, id, req); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
		s.Close()
	}
}

// TestReadCacheSeesCommitsAtOnce: with the shared WAL index watched, a
// change another connection commits is seen by the very next read, not a
// freshness interval later: each round caches alice, lets the other store
// change her, and reads again at once (without the watch, a read within a
// millisecond of the last question is answered from the cache, stale).
func TestReadCacheSeesCommitsAtOnce(t *testing.T) {
	ctx := context.Background()
	server, cliStore := watchedAlice(t)
	for i := range 50 {
		for range 2 { // the second read is a cache hit
			_, err := server.User(ctx, "alice")
			require.NoError(t, err)
		}
		want := fmt.Sprintf("h%d", i+1)
		require.NoError(t, cliStore.PutUser(ctx, stores.User{Name: "alice", PasswordHash: want}))
		u, err := server.User(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, want, u.PasswordHash, "round %d: the server read a stale alice right after the other store's commit", i)
	}
}

// TestReadCacheKeepsWarmAcrossOtherWrites: commits that change no cached
// table — OAuth 1 nonces, failed-login counters, by this process or by
// another — leave the cache warm (they used to empty it: the cache asked
// PRAGMA data_version, which every commit moves), while a change to a
// cached table by another process is still seen by the next read.
func TestReadCacheKeepsWarmAcrossOtherWrites(t *testing.T) {
	ctx := context.Background()
	server, cliStore := serverAndCLI(t)
	far := time.Now().Add(time.Hour)
	require.NoError(t, server.PutUser(ctx, stores.User{Name: "alice", PasswordHash: "h1"}))
	require.NoError(t, server.CreateToken(ctx, stores.Token{ID: "t1", Hash: "hash1", Kind: stores.TokenAccess, User: "alice", Expires: far}))
	read := func() {
		t.Helper()
		u, err := server.User(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, "h1", u.PasswordHash)
		tok, err := server.TokenByHash(ctx, "hash1")
		require.NoError(t, err)
		assert.Equal(t, "alice", tok.User)
	}
	read()
	warm := sqlstore.CacheMisses(server)
	for i := range 20 {
		for _, w := range []sqlstore.Store{server, cliStore} {
			fresh, err := w.UseNonce(ctx, "katello", fmt.Sprint("nonce-", i, "-", w == server), far)
			require.NoError(t, err)
			require.True(t, fresh)
			_, _, err = w.AddFailure(ctx, "user", "mallory", time.Minute)
			require.NoError(t, err)
		}
		settle()
		read()
	}
	assert.Equal(t, warm, sqlstore.CacheMisses(server), "nonces and failure counters, here and elsewhere, left the cache warm")

	require.NoError(t, cliStore.PutUser(ctx, stores.User{Name: "alice", PasswordHash: "h2"}))
	settle()
	u, err := server.User(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "h2", u.PasswordHash, "another process changed alice")
	assert.Greater(t, sqlstore.CacheMisses(server), warm)

	require.NoError(t, cliStore.RevokeToken(ctx, "t1", time.Now()))
	settle()
	tok, err := server.TokenByHash(ctx, "hash1")
	require.NoError(t, err)
	assert.False(t, tok.Revoked.IsZero(), "another process revoked the token")
}
