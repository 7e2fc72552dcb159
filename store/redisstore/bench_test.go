package redisstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
)

// BenchmarkSessionLookup is one session read by hash (HGETALL).
func BenchmarkSessionLookup(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	now := time.Now()
	if err := s.CreateSession(ctx, stores.Session{Hash: "bench", User: "wsuser", Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SessionByHash(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUseNonceParallel32 records fresh nonces from 32 goroutines.
func BenchmarkUseNonceParallel32(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	exp := time.Now().Add(time.Minute)
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // × GOMAXPROCS 2 = 32 goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.UseNonce(ctx, "k", strconv.FormatInt(seq.Add(1), 10), exp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
