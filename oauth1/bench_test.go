package oauth1_test

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/oauthsig"
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
