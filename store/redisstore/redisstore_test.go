package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopAll()
	os.Exit(code)
}

func open(t testing.TB) *redisstore.Store {
	addr := storetest.RedisAddr(t)
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: addr}), fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano()))
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceRedis(t *testing.T) {
	s := open(t)
	storetest.Run(t, storetest.Backend{Sessions: s, Nonces: s, Failures: s})
}

func TestOpenByURL(t *testing.T) {
	addr := storetest.RedisAddr(t)
	s, err := redisstore.Open(context.Background(), "redis://"+addr+"/0", "")
	require.NoError(t, err)
	defer s.Close()
	_, err = redisstore.Open(context.Background(), "redis://127.0.0.1:1/0", "")
	require.Error(t, err)
}
