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

func FuzzParseHeader(f *testing.F) {
	f.Add(`OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"`)
	f.Add(`OAuth oauth_version="1.0",oauth_consumer_key=secretkey,oauth_token=""`)
	f.Add(`OAuth a="b`)
	f.Add(`oauth ,,,`)
	f.Fuzz(func(t *testing.T, h string) {
		params, ok, err := oauth1.ParseHeader(h)
		if err != nil || !ok {
			return
		}
		// What parses re-serializes and parses to the same parameters.
		parts := make([]string, len(params))
		for i, p := range params {
			parts[i] = p.Name + `="` + oauth1.Encode(p.Value) + `"`
		}
		again, ok, err := oauth1.ParseHeader("OAuth " + strings.Join(parts, ", "))
		if err != nil || !ok || len(again) != len(params) {
			t.Fatalf("round trip of %q failed: %v %v", h, again, err)
		}
		for i := range params {
			if again[i] != params[i] {
				t.Fatalf("round trip changed %v to %v", params[i], again[i])
			}
		}
	})
}

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
			t.Fatalf("accepted %q as %v", h, id)
		}
		if e := auth.AsError(err); e.Reason != auth.ReasonMissing && (e.Status() < 400 || e.Status() >= 500) {
			t.Fatalf("status %d for %q: %v", e.Status(), h, err)
		}
	})
}
