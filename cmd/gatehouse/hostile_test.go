package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Attack (failed before the fix: Location: https://evil.example:PORT/…):
// with --external-url, the plain-HTTP redirect and the OAuth metadata's
// issuer come from it, never from the Host header a client chose; without
// it, the metadata built from Host is not cacheable. A header block of
// 128 KiB (over the 64 KiB cap; Go allows some slack on a kept-alive
// connection) gets 431 on both listeners (Go's default allows 1 MB).
func TestServeExternalURLAndHeaderCap(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--http-addr", "127.0.0.1:0", "--external-url", "https://gatehouse.example:9443/")
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", s.plain+"/xcatws/nodes?userName=a&userPW=secret&x=1", nil)
	req.Host = "evil.example"
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "https://gatehouse.example:9443/xcatws/nodes?x=1" {
		t.Errorf("redirect to %q", loc)
	}
	c := caClient(t, data)
	metadata := func(base string) (string, string) {
		req, _ := http.NewRequest("GET", base+"/.well-known/oauth-authorization-server", nil)
		req.Host = "evil.example"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Issuer string `json:"issuer"`
		}
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("metadata: %d %s", resp.StatusCode, b)
		}
		return doc.Issuer, resp.Header.Get("Cache-Control")
	}
	if iss, _ := metadata(s.base); iss != "https://gatehouse.example:9443" {
		t.Errorf("issuer %q with --external-url", iss)
	}
	for _, base := range []string{s.base, s.plain} {
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", 128<<10))
		cl := hc
		if base == s.base {
			cl = c
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with a 128 KiB header: %d %s, want 431", base, resp.StatusCode, resp.Proto)
		}
	}

	data2 := t.TempDir()
	s2 := startServer(t, data2, "--demo")
	c = caClient(t, data2)
	if iss, cache := metadata(s2.base); iss != "https://evil.example" || cache != "no-store" {
		t.Errorf("issuer %q Cache-Control %q without --external-url: an issuer from Host must not be cached", iss, cache)
	}
	if _, _, code := cliStatus(t, t.TempDir(), "", "serve", "--external-url", "http://x"); code != 2 {
		t.Errorf("--external-url http://x: exit %d, want 2", code)
	}
}
