package creds_test

import (
	"encoding/base64"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/creds"
)

func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{"wsuser:cluster-secret", "zoë:pä:ss", ":", "u:", "a\x00b:c", "u:p\n"} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	f.Add("d3N1c2Vy\r\nOnB3")
	f.Add("d3N1c2VyOnB3")
	f.Add("  d3N1 c2VyOnB3  ")
	f.Fuzz(func(t *testing.T, encoded string) {
		user, pw, err := parseBasic(encoded, 4096)
		if err != nil {
			e := auth.AsError(err)
			if e.Reason != auth.ReasonMalformed || e.Text() == "" {
				t.Fatalf("error without a clear malformed reason: %#v", e)
			}
			return
		}
		if user == "" || !utf8.ValidString(user) || strings.ContainsAny(user, "\x00\r\n:") || strings.ContainsAny(pw, "\x00\r\n") {
			t.Fatalf("accepted bad credentials %q / %q", user, pw)
		}
		// Round trip: what we accept is what a client encoded.
		again, pw2, err := parseBasic(base64.StdEncoding.EncodeToString([]byte(user+":"+pw)), 1<<20)
		if err != nil || again != user || pw2 != pw {
			t.Fatalf("round trip changed %q:%q → %q:%q (%v)", user, pw, again, pw2, err)
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	f.Add("userName=wsuser&userPW=cluster-secret")
	f.Add("userName=wsuser&password=x&pretty=1")
	f.Add("userName=%zz")
	f.Add("a=1;b=2")
	f.Fuzz(func(t *testing.T, q string) {
		params := []string{"userName", "userPW", "password"}
		user, pw, err := parseQuery(q, "userName", params[1:])
		if err != nil {
			if auth.AsError(err).Reason != auth.ReasonMalformed {
				t.Fatalf("not a malformed error: %v", err)
			}
			return
		}
		if user == "" && pw != "" {
			t.Fatalf("password %q without user", pw)
		}
		stripped := httpx.StripQueryCredentials(q)
		if u, p, err := parseQuery(stripped, "userName", params[1:]); err == nil && (u != "" || p != "") {
			t.Fatalf("credentials survive stripping: %q → %q", q, stripped)
		}
	})
}

// parseBasic and parseQuery return a plain error, nil when there is none
// (a nil *auth.Error in an error interface is not nil).
func parseBasic(encoded string, max int) (string, string, error) {
	u, p, e := creds.ParseBasic(encoded, max)
	if e != nil {
		return "", "", e
	}
	return u, p, nil
}

func parseQuery(q, userParam string, pwParams []string) (string, string, error) {
	u, p, e := creds.ParseQuery(q, userParam, pwParams)
	if e != nil {
		return "", "", e
	}
	return u, p, nil
}

// BenchmarkParseBasic is the header parser alone.
func BenchmarkParseBasic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := creds.ParseBasic("d3N1c2VyOmNsdXN0ZXItc2VjcmV0", 4096); err != nil {
			b.Fatal(err)
		}
	}
}
