package oauthsig_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauthsig"
)

func FuzzParseHeader(f *testing.F) {
	f.Add(`OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"`)
	f.Add(`OAuth oauth_version="1.0",oauth_consumer_key=secretkey,oauth_token=""`)
	f.Add(`OAuth a="b`)
	f.Add(`oauth ,,,`)
	f.Fuzz(func(t *testing.T, h string) {
		params, ok, err := oauthsig.ParseHeader(h)
		if err != nil || !ok {
			return
		}
		// What parses re-serializes and parses to the same parameters.
		parts := make([]string, len(params))
		for i, p := range params {
			parts[i] = p.Name + `="` + oauthsig.Encode(p.Value) + `"`
		}
		again, ok, err := oauthsig.ParseHeader("OAuth " + strings.Join(parts, ", "))
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
