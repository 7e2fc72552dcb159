package oauth1_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/internal/oauthsig"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// BenchmarkVerifyHMACSHA1 is one 1-legged HMAC-SHA1 verification with user
// mapping and a fresh nonce, over memstore.
func BenchmarkVerifyHMACSHA1(b *testing.B) {
	st := authtest.Users(authtest.User{Login: "admin"})
	_ = st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret})
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	base := []oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
		{Name: "oauth_timestamp", Value: ts}, {Name: "oauth_version", Value: "1.0"}, {Name: "oauth_token", Value: ""}}
	// Requests are signed beforehand, each with its own nonce (a replay
	// would fail), so the loop measures verification only.
	const batch = 4096
	headers := make([]string, batch)
	for i := range headers {
		params := append(base[:len(base):len(base)], oauthsig.Param{Name: "oauth_nonce", Value: "nonce-" + strconv.Itoa(i) + "-" + ts})
		bs := oauthsig.BaseString("GET", "https://api.example/api/hosts", append(params, oauthsig.Param{Name: "per_page", Value: "20"}))
		headers[i] = header(append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", bs, consumerSecret, "")}), true)
	}
	req := httptest.NewRequest("GET", "https://api.example/api/hosts?per_page=20", nil)
	req.Header.Set("FOREMAN-USER", "admin")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			_ = st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret})
			st2 := authtest.Users(authtest.User{Login: "admin"})
			_ = st2.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret})
			a = oauth1.New(oauth1.Config{Consumers: st2, Nonces: st2, Users: st2})
			i = 0
			b.StartTimer()
		}
		req.Header.Set("Authorization", headers[i])
		if _, err := a.Authenticate(req); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkStores is one signed request with a fresh nonce through the
// middleware, 64 at a time (as the load test's connections), over each
// store that keeps nonces on one machine: memstore, and SQLite as the
// reference server runs it (WAL; nonces committed in groups with
// synchronous=NORMAL, the rest FULL). Compare the rows of one run: issue
// 34 asks SQLite within 3× of memstore.
func BenchmarkStores(b *testing.B) {
	ctx := context.Background()
	sqlite, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sqlite.Close() })
	for _, c := range []struct {
		name  string
		store interface {
			stores.UserAdmin
			stores.ConsumerAdmin
			stores.NonceStore
		}
	}{{"memstore", memstore.New()}, {"sqlite", sqlite}} {
		authtest.PutUser(b, c.store, authtest.User{Login: "admin"})
		if err := c.store.PutConsumer(ctx, stores.Consumer{Key: consumerKey, Secret: consumerSecret}); err != nil {
			b.Fatal(err)
		}
		h := auth.Middleware(oauth1.New(oauth1.Config{Consumers: c.store, Nonces: c.store, Users: c.store}), auth.Config{})(
			http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		b.Run(c.name, func(b *testing.B) {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			base := []oauthsig.Param{{Name: "oauth_consumer_key", Value: consumerKey}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
				{Name: "oauth_timestamp", Value: ts}, {Name: "oauth_version", Value: "1.0"}}
			headers := make([]string, b.N)
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			for i := range headers {
				params := append(base[:len(base):len(base)], oauthsig.Param{Name: "oauth_nonce", Value: run + "-" + strconv.Itoa(i)})
				bs := oauthsig.BaseString("GET", "https://api.example/api/hosts", params)
				headers[i] = header(append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", bs, consumerSecret, "")}), true)
			}
			var next atomic.Int64
			b.SetParallelism(32)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, cpuOK := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "https://api.example/api/hosts", nil)
				req.Header.Set("FOREMAN-USER", "admin")
				for pb.Next() {
					req.Header.Set("Authorization", headers[next.Add(1)-1])
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
			// The process's CPU per request, the batcher's and the
			// collector's included: unlike ns/op, not lowered by
			// waiting nor raised by another program taking a core.
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
