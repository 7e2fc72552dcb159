package memstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	frozen := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetClock(func() time.Time { return frozen })

	_, err := s.User(ctx, "admin@internal")
	assert.ErrorIs(t, err, stores.ErrNotFound)

	groups := []string{"ops"}
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h1", Groups: groups}))
	groups[0] = "mutated"
	u, err := s.User(ctx, "admin@internal")
	require.NoError(t, err)
	assert.Equal(t, []string{"ops"}, u.Groups, "the store keeps its own copy")
	assert.Equal(t, frozen, u.Updated)

	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: "h2"}))
	u2, _ := s.User(ctx, "admin@internal")
	assert.True(t, u2.Updated.After(u.Updated), "Updated must move even with a frozen clock")
	assert.Equal(t, "h1", u.PasswordHash, "an old snapshot is never mutated")

	require.NoError(t, s.PutUser(ctx, stores.User{Name: "admin"}))
	list, _ := s.ListUsers(ctx)
	require.Len(t, list, 2)
	assert.Equal(t, "admin", list[0].Login())
	assert.Equal(t, "admin@internal", list[1].Login())

	require.NoError(t, s.DeleteUser(ctx, "admin"))
	assert.ErrorIs(t, s.DeleteUser(ctx, "admin"), stores.ErrNotFound)
}

func TestRulesRejectInvalidWithoutLosingOld(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	good := []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}
	require.NoError(t, s.SetRules(ctx, good))
	err := s.SetRules(ctx, []auth.Rule{{Priority: 1, Verdict: auth.Allow}, {Priority: 2, Verdict: "disallow"}})
	require.Error(t, err)
	got, _ := s.Rules(ctx)
	assert.Equal(t, good, got, "a rejected update leaves the table as it was")
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				name := fmt.Sprintf("u%d-%d", i, j%10)
				_ = s.PutUser(ctx, stores.User{Name: name})
				_, _ = s.User(ctx, name)
				_, _ = s.ListUsers(ctx)
				_, _ = s.Rules(ctx)
			}
		}()
	}
	wg.Wait()
	list, _ := s.ListUsers(ctx)
	assert.Len(t, list, 80)
}

func Example() {
	ctx := context.Background()
	s := memstore.New()
	_ = s.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", Groups: []string{"admin"}})
	u, err := s.User(ctx, "admin@internal")
	fmt.Println(u.Name, u.Domain, u.Groups, err)
	// Output: admin internal [admin] <nil>
}

func TestNoncesAndConsumers(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	fresh, err := s.UseNonce(ctx, "k", "n1", now.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, _ = s.UseNonce(ctx, "k", "n1", now.Add(time.Minute))
	assert.False(t, fresh, "replay")
	fresh, _ = s.UseNonce(ctx, "other", "n1", now.Add(time.Minute))
	assert.True(t, fresh, "nonces are per consumer")
	fresh, _ = s.UseNonce(ctx, "k", "nx", now.Add(time.Minute))
	require.True(t, fresh)
	fresh, _ = s.UseNonce(ctx, "kn", "x", now.Add(time.Minute))
	assert.True(t, fresh, "the consumer and the nonce are hashed apart: (kn, x) is not (k, nx)")
	now = now.Add(2 * time.Minute)
	fresh, _ = s.UseNonce(ctx, "k", "n1", now.Add(time.Minute))
	assert.True(t, fresh, "forgotten once expired")

	// The table grows with what is live, and expired nonces make room: a
	// run of 10 000 nonces that expire before the next begins fits in the
	// table that 10 000 live ones need.
	for i := range 10000 {
		fresh, _ := s.UseNonce(ctx, "k", fmt.Sprint(i), now.Add(time.Second))
		require.True(t, fresh)
	}
	grown := memstore.NonceSlots(s)
	assert.GreaterOrEqual(t, float64(grown), 10000/0.7, "room for every live nonce")
	for i := range 10000 {
		fresh, _ := s.UseNonce(ctx, "k", fmt.Sprint(i), now.Add(time.Second))
		require.False(t, fresh, "replay %d while live", i)
	}
	for round := range 20 {
		now = now.Add(time.Hour)
		for i := range 10000 {
			fresh, _ := s.UseNonce(ctx, "k", fmt.Sprint(round, "x", i), now.Add(time.Second))
			require.True(t, fresh)
		}
	}
	assert.LessOrEqual(t, memstore.NonceSlots(s), 2*grown, "bounded by what is live, not by what was ever used")
	fresh, _ = s.UseNonce(ctx, "k", "19x9999", now.Add(time.Second))
	assert.False(t, fresh, "the last round's nonces are still live")
	now = now.Add(time.Hour)
	for i := range 3000 { // an expired nonce is fresh again
		fresh, _ := s.UseNonce(ctx, "k", fmt.Sprint("19x", i), now.Add(time.Second))
		require.True(t, fresh)
	}

	_, err = s.Consumer(ctx, "k")
	assert.ErrorIs(t, err, stores.ErrNotFound)
	require.NoError(t, s.PutConsumer(ctx, stores.Consumer{Key: "k", Secret: "consumer-secret-01", Users: []string{"a"}}))
	c, err := s.Consumer(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "consumer-secret-01", c.Secret)

	require.NoError(t, s.PutUser(ctx, stores.User{Name: "JSmith"}))
	u, err := s.UserFold(ctx, "jsmith")
	require.NoError(t, err)
	assert.Equal(t, "JSmith", u.Name)
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "jsmith"}))
	u, err = s.UserFold(ctx, "jsmith")
	require.NoError(t, err)
	assert.Equal(t, "jsmith", u.Name, "an exact match wins")
	_, err = s.UserFold(ctx, "JSMITH")
	assert.ErrorIs(t, err, stores.ErrNotFound, "ambiguous")
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sess := stores.Session{Hash: "h1", User: "u", Created: now, LastSeen: now, IdleTimeout: time.Minute, Expires: now.Add(time.Hour)}
	require.NoError(t, s.CreateSession(ctx, sess))
	assert.ErrorIs(t, s.CreateSession(ctx, sess), stores.ErrConflict)
	got, err := s.SessionByHash(ctx, "h1")
	require.NoError(t, err)
	require.NoError(t, s.TouchSession(ctx, "h1", now.Add(time.Second)))
	again, _ := s.SessionByHash(ctx, "h1")
	assert.Equal(t, now.Add(time.Second), again.LastSeen)
	assert.Equal(t, now, got.LastSeen, "snapshots are not mutated")
	require.NoError(t, s.DeleteSession(ctx, "h1"))
	require.NoError(t, s.DeleteSession(ctx, "h1"))
	assert.ErrorIs(t, s.TouchSession(ctx, "h1", now), stores.ErrNotFound)
	_, err = s.SessionByHash(ctx, "h1")
	assert.ErrorIs(t, err, stores.ErrNotFound)
}
