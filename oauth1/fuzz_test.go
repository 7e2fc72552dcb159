package oauth1_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// FuzzAuthenticate throws arbitrary headers, queries and form bodies at the
// authenticator: never a panic, only ErrNoCredentials or an *auth.Error with
// a 4xx status.
func FuzzAuthenticate(f *testing.F) {
	st := memstore.New()
	_ = st.PutConsumer(context.Background(), stores.Consumer{Key: "k", Secret: "fuzz-consumer-secret"})
	a := oauth1.New(oauth1.Config{Consumers: st, Nonces: st, Users: st})
	f.Add(`OAuth oauth_consumer_key="k",oauth_signature_method="HMAC-SHA1",oauth_signature="x",oauth_timestamp="1",oauth_nonce="n"`, "a=1&oauth_nonce=2", "b=%zz")
	f.Add(`OAuth oauth_consumer_key="k",oauth_signature_method="PLAINTEXT",oauth_signature="s%26"`, "", "")
	f.Fuzz(func(t *testing.T, h, query, body string) {
		r := httptest.NewRequest("POST", "https://api.example/api", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Authorization", h)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		id, err := a.Authenticate(r)
		if err == nil {
			t.Fatalf("accepted %q as %v", h, id.Identity)
		}
		if e := auth.AsError(err); e.Reason != auth.ReasonMissing && (e.Status() < 400 || e.Status() >= 500) {
			t.Fatalf("status %d for %q: %v", e.Status(), h, err)
		}
	})
}
