package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.StopAll()
	os.Exit(code)
}

func open(t testing.TB) redisstore.Store {
	addr := testservers.RedisAddr(t)
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: addr}), fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano()))
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceRedis(t *testing.T) {
	s := open(t)
	storetest.Run(t, storetest.Backend{Sessions: s, Nonces: s, Failures: s})
}

func TestOpenByURL(t *testing.T) {
	addr := testservers.RedisAddr(t)
	s, err := redisstore.Open(context.Background(), "redis://"+addr+"/0", "")
	require.NoError(t, err)
	defer s.Close()
	_, err = redisstore.Open(context.Background(), "redis://127.0.0.1:1/0", "")
	require.Error(t, err)
}

// Fault (failed before the fix: each call waited for Redis, 2 s here, up to
// the client's 3 s ReadTimeout): with Redis paused, every call returns at the
// store's deadline — for a client the caller built without
// ContextTimeoutEnabled as for Open's.
func TestDeadlineWithSlowRedis(t *testing.T) {
	addr := testservers.RedisAddr(t)
	own := redis.NewClient(&redis.Options{Addr: addr}) // go-redis defaults: ReadTimeout 3 s, context deadlines ignored
	opened, err := redisstore.Open(context.Background(), "redis://"+addr+"/0", "")
	require.NoError(t, err)
	defer opened.Close()
	for name, s := range map[string]redisstore.Store{"caller's client": redisstore.New(own, "deadline:"), "Open": opened} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s.SetTimeout(200 * time.Millisecond)
			_, err := s.UseNonce(ctx, "k", fmt.Sprint("warm", time.Now().UnixNano()), time.Now().Add(time.Minute)) // a pooled connection
			require.NoError(t, err)
			const pause = 2 * time.Second
			admin := redis.NewClient(&redis.Options{Addr: addr})
			defer admin.Close()
			require.NoError(t, admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err())
			defer admin.Do(ctx, "CLIENT", "UNPAUSE")
			for _, call := range []func() error{
				func() error { _, err := s.UseNonce(ctx, "k", "n", time.Now().Add(time.Minute)); return err },
				func() error { _, _, err := s.AddFailure(ctx, "user", "u", time.Minute); return err },
				func() error { _, err := s.SessionByHash(ctx, "h"); return err },
			} {
				start := time.Now()
				err := call()
				took := time.Since(start)
				assert.Error(t, err, "an answer from a paused Redis")
				// The bound is the deadline (200 ms), far below the pause.
				assert.Less(t, took, pause/2, "a call took %v with a %v deadline", took, 200*time.Millisecond)
			}
		})
	}
}
