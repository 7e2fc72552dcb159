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
	"github.com/gatehouse/gatehouse/store/memstore"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	frozen := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetClock(func() time.Time { return frozen })

	_, err := s.User(ctx, "admin@internal")
	assert.ErrorIs(t, err, auth.ErrNotFound)

	groups := []string{"ops"}
	require.NoError(t, s.PutUser(ctx, auth.User{Name: "admin", Domain: "internal", PasswordHash: "h1", Groups: groups}))
	groups[0] = "mutated"
	u, err := s.User(ctx, "admin@internal")
	require.NoError(t, err)
	assert.Equal(t, []string{"ops"}, u.Groups, "the store keeps its own copy")
	assert.Equal(t, frozen, u.Updated)

	require.NoError(t, s.PutUser(ctx, auth.User{Name: "admin", Domain: "internal", PasswordHash: "h2"}))
	u2, _ := s.User(ctx, "admin@internal")
	assert.True(t, u2.Updated.After(u.Updated), "Updated must move even with a frozen clock")
	assert.Equal(t, "h1", u.PasswordHash, "an old snapshot is never mutated")

	require.NoError(t, s.PutUser(ctx, auth.User{Name: "admin"}))
	list, _ := s.ListUsers(ctx)
	require.Len(t, list, 2)
	assert.Equal(t, "admin", list[0].Login())
	assert.Equal(t, "admin@internal", list[1].Login())

	require.NoError(t, s.DeleteUser(ctx, "admin"))
	assert.ErrorIs(t, s.DeleteUser(ctx, "admin"), auth.ErrNotFound)
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
				_ = s.PutUser(ctx, auth.User{Name: name})
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
	_ = s.PutUser(ctx, auth.User{Name: "admin", Domain: "internal", Groups: []string{"admin"}})
	u, err := s.User(ctx, "admin@internal")
	fmt.Println(u.Name, u.Domain, u.Groups, err)
	// Output: admin internal [admin] <nil>
}
