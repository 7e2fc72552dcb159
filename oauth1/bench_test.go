package oauth1_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth1"
)

// BenchmarkVerifyHMACSHA1 is one 1-legged HMAC-SHA1 verification with user
// mapping and a fresh nonce, over memstore.
func BenchmarkVerifyHMACSHA1(b *testing.B) {
	st := authtest.NewStore(b, authtest.User{Login: "admin"})
	_ = st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret})
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	base := []oauth1.Param{{"oauth_consumer_key", consumerKey}, {"oauth_signature_method", "HMAC-SHA1"},
		{"oauth_timestamp", ts}, {"oauth_version", "1.0"}, {"oauth_token", ""}}
	// Requests are signed beforehand, each with its own nonce (a replay
	// would fail), so the loop measures verification only.
	const batch = 4096
	headers := make([]string, batch)
	for i := range headers {
		params := append(base[:len(base):len(base)], oauth1.Param{"oauth_nonce", "nonce-" + strconv.Itoa(i) + "-" + ts})
		bs := oauth1.BaseString("GET", "https://api.example/api/hosts", append(params, oauth1.Param{"per_page", "20"}))
		headers[i] = header(append(params, oauth1.Param{"oauth_signature", oauth1.HMACSignature("HMAC-SHA1", bs, consumerSecret, "")}), true)
	}
	req := httptest.NewRequest("GET", "https://api.example/api/hosts?per_page=20", nil)
	req.Header.Set("FOREMAN-USER", "admin")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			_ = st.PutConsumer(context.Background(), stores.Consumer{Key: consumerKey, Secret: consumerSecret})
			st2 := authtest.NewStore(b, authtest.User{Login: "admin"})
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
