package pwcheck_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
)

// countingVerifier counts the checks that reach the verifier it wraps.
type countingVerifier struct {
	next  pwcheck.Verifier
	calls *atomic.Int64
}

func (c countingVerifier) VerifyPassword(ctx context.Context, login, pw string) (*auth.Identity, error) {
	c.calls.Add(1)
	return c.next.VerifyPassword(ctx, login, pw)
}

func TestCacheExpires(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	var calls atomic.Int64
	clk := authtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := pwcheck.NewCache(pwcheck.CacheConfig{Next: countingVerifier{authtest.Verifier(t, store), &calls},
		Users: store, TTL: time.Minute, MaxAge: 5 * time.Minute,
		Env: auth.Env{Now: clk.Now},
	})
	ctx := context.Background()
	verify := func() {
		t.Helper()
		_, err := c.VerifyPassword(ctx, "wsuser", "cluster-secret")
		require.NoError(t, err)
	}
	verify()
	clk.Add(59 * time.Second)
	verify()
	assert.EqualValues(t, 1, calls.Load())
	clk.Add(55 * time.Second) // 1:54: used at 0:59, so extended to 1:59
	verify()
	assert.EqualValues(t, 1, calls.Load(), "an entry in use is extended, not recomputed")
	for range 2 { // kept in use every 50 s: 2:44, 3:34
		clk.Add(50 * time.Second)
		verify()
	}
	assert.EqualValues(t, 1, calls.Load())
	clk.Add(50 * time.Second) // 4:24, within a TTL of the 5:00 ceiling
	verify()                  // answered from the cache; one check runs in the background
	require.Eventually(t, func() bool { return c.Refreshing() == 0 }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, calls.Load(), "checked again in the background")
	clk.Add(50 * time.Second) // 5:14: past the old ceiling, the renewed entry answers
	verify()
	assert.EqualValues(t, 2, calls.Load())
	clk.Add(61 * time.Second) // idle for a whole TTL
	verify()
	assert.EqualValues(t, 3, calls.Load(), "an idle entry expires after its TTL")
	assert.Equal(t, 1, c.Len())
	c.Forget("wsuser")
	assert.Equal(t, 0, c.Len())
}
