package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

func backends(b *testing.B) map[string]sqlstore.Store {
	return map[string]sqlstore.Store{"sqlite": openSQLite(b), "postgres": openPostgres(b)}
}

// BenchmarkTokenLookup is one token verification (hash lookup plus the
// owner's user record) against each database.
func BenchmarkTokenLookup(b *testing.B) {
	ctx := context.Background()
	for name, s := range backends(b) {
		if err := s.PutUser(ctx, stores.User{Name: "wsuser"}); err != nil {
			b.Fatal(err)
		}
		svc := token.New(token.Config{Store: s, Users: s, TouchInterval: time.Hour})
		issued, err := svc.IssueAccess(ctx, &auth.Identity{User: "wsuser"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Verify(ctx, issued.Secret, token.PrefixAccess, auth.SchemeToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionLookup is one session read by hash.
func BenchmarkSessionLookup(b *testing.B) {
	ctx := context.Background()
	for name, s := range backends(b) {
		now := time.Now()
		if err := s.CreateSession(ctx, stores.Session{Hash: "bench", User: "wsuser", Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SessionByHash(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIssueParallel32 issues access tokens from 32 goroutines at once.
func BenchmarkIssueParallel32(b *testing.B) {
	ctx := context.Background()
	for name, s := range backends(b) {
		svc := token.New(token.Config{Store: s, Users: s})
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16) // × GOMAXPROCS 2 = 32 goroutines
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				id := &auth.Identity{User: fmt.Sprint("u", n.Add(1))}
				for pb.Next() {
					if _, err := svc.IssueAccess(ctx, id, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkUserLookupBetweenNonces is a user lookup after an OAuth 1 nonce
// was committed, as a stream of OAuth 1 requests does on one store: the
// nonce's commit changes no cached table, so on SQLite the user comes from
// the read cache (it was read from the database again when every commit
// emptied the cache). Only the lookup is timed.
func BenchmarkUserLookupBetweenNonces(b *testing.B) {
	ctx := context.Background()
	far := time.Now().Add(time.Hour)
	for name, s := range backends(b) {
		if err := s.PutUser(ctx, stores.User{Name: "admin"}); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				b.StopTimer()
				if _, err := s.UseNonce(ctx, "katello", fmt.Sprint("n", i), far); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := s.User(ctx, "admin"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
