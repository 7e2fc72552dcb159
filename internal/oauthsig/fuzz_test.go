package oauthsig_test

import (
	"slices"
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

// FuzzBaseString: the base string, which encodes straight into its buffer
// and sorts by comparing encodings as it walks them, equals the RFC's
// recipe done the slow way: encode each parameter, sort the encodings,
// join, and encode the result again.
func FuzzBaseString(f *testing.F) {
	f.Add("oauth_nonce", "a+b/c=", "oauth_nonce", "a b", "c", "%")
	f.Add("a", "", "a", "\x00", "a~", "é")
	f.Add("x", "1", "x", "1", "x-y", "*")
	f.Add("\xd4", "0", "0", "0", "0", "0") // a byte that needs encoding sorts by its encoding ("%D4" < "0")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3 string) {
		params := []oauthsig.Param{{Name: n1, Value: v1}, {Name: n2, Value: v2}, {Name: n3, Value: v3}}
		pairs := make([][2]string, len(params))
		for i, p := range params {
			pairs[i] = [2]string{oauthsig.Encode(p.Name), oauthsig.Encode(p.Value)}
		}
		slices.SortFunc(pairs, func(a, b [2]string) int {
			if c := strings.Compare(a[0], b[0]); c != 0 {
				return c
			}
			return strings.Compare(a[1], b[1])
		})
		joined := make([]string, len(pairs))
		for i, p := range pairs {
			joined[i] = p[0] + "=" + p[1]
		}
		norm := strings.Join(joined, "&")
		if got := oauthsig.NormalizeParams(params); got != norm {
			t.Fatalf("NormalizeParams(%q) = %q, want %q", params, got, norm)
		}
		want := "GET&" + oauthsig.Encode("https://api.example/x") + "&" + oauthsig.Encode(norm)
		if got := oauthsig.BaseString("get", "https://api.example/x", params); got != want {
			t.Fatalf("BaseString(%q) = %q, want %q", params, got, want)
		}
	})
}

// FuzzBaseStringParts: the base string built from the URI's parts and
// encoded parameters (the verifier's path) equals the one built from
// BaseURI's string and decoded parameters.
func FuzzBaseStringParts(f *testing.F) {
	f.Add("GET", "HTTPS", "Api.Example:443", "/api/hosts", "oauth_nonce", "a+b")
	f.Add("post", "http", "example.com:80", "", "a", "%")
	f.Add("GET", "http", "[::1]:8080", "/x%20y", "b", "é")
	f.Fuzz(func(t *testing.T, method, scheme, host, path, name, value string) {
		params := []oauthsig.Param{{Name: name, Value: value}, {Name: "oauth_version", Value: "1.0"}}
		want := oauthsig.BaseString(method, oauthsig.BaseURI(scheme, host, path), params)
		encoded := []oauthsig.Encoded{{Name: oauthsig.Encode(name), Value: oauthsig.Encode(value)}, {Name: "oauth_version", Value: "1.0"}}
		if got := string(oauthsig.AppendBaseStringEncoded(nil, method, scheme, host, path, encoded)); got != want {
			t.Fatalf("parts %q %q %q %q: %q, want %q", method, scheme, host, path, got, want)
		}
	})
}

// FuzzEncodedBaseString: the verifier's path, which keeps parameters in
// their encoding (used as sent when that is Encode's form), gives the
// base string the decoding path gives, for any header and query; and both
// parse or refuse the same inputs.
func FuzzEncodedBaseString(f *testing.F) {
	f.Add(`OAuth realm="x", oauth_consumer_key="k", oauth_nonce="a%2Bb%2F", oauth_signature="bYT5%3D"`, "per_page=20&search=name+%3D+x")
	f.Add(`OAuth a="%41%2b%7E", b=c%20d, c="", %41="1"`, "a=%41&b=%2b&c=%7e&d=+&e=%C3%A9&f")
	f.Add(`OAuth a="%4"`, "x=%zz")
	f.Add(`OAuth n="é", m="%00"`, "=&&a==b")
	f.Fuzz(func(t *testing.T, h, query string) {
		decoded, ok, err := oauthsig.ParseHeader(h)
		encoded, eok, eerr := oauthsig.AppendHeaderEncoded(nil, h)
		if ok != eok || (err == nil) != (eerr == nil) {
			t.Fatalf("header %q: decoding gives %v %v, encoding %v %v", h, ok, err, eok, eerr)
		}
		q, qerr := oauthsig.ParseForm(query)
		eq, eqerr := oauthsig.AppendFormEncoded(nil, query)
		if (qerr == nil) != (eqerr == nil) {
			t.Fatalf("query %q: decoding gives %v, encoding %v", query, qerr, eqerr)
		}
		if err != nil || qerr != nil {
			return
		}
		for i, p := range encoded {
			if d := oauthsig.Decode(p.Value); d != decoded[i].Value || p.Name != oauthsig.Encode(decoded[i].Name) {
				t.Fatalf("header parameter %d: %q decodes to %q, want %q", i, p, d, decoded[i])
			}
		}
		want := oauthsig.BaseString("GET", "https://api.example/x", append(decoded, q...))
		got := oauthsig.AppendBaseStringEncoded(nil, "GET", "https", "api.example", "/x", append(encoded, eq...))
		if string(got) != want {
			t.Fatalf("header %q query %q:\n got %s\nwant %s", h, query, got, want)
		}
	})
}

// FuzzAppendDecoded: decoding a value's encoding gives the value back,
// with or without a string of its own.
func FuzzAppendDecoded(f *testing.F) {
	f.Add("bYT5CMsGcbgUdFHObYMEfcx6bsw=")
	f.Add("a b+c/é\x00%")
	f.Fuzz(func(t *testing.T, v string) {
		enc := oauthsig.Encode(v)
		if got, ok := oauthsig.AppendDecoded(nil, enc); !ok || string(got) != v {
			t.Fatalf("AppendDecoded(%q) = %q, %v; want %q", enc, got, ok, v)
		}
		if got := oauthsig.Decode(enc); got != v {
			t.Fatalf("Decode(%q) = %q, want %q", enc, got, v)
		}
	})
}
