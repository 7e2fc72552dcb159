package preset_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
)

// Connections FuzzFaces serves a request on (mode % 3).
const (
	overPlainHTTP = iota
	overTLS
	overTLSWithClientCert
)

// connFor is the connection of a mode, with chain as the client
// certificate's.
func connFor(mode uint8, chain []*x509.Certificate) authtest.Conn {
	switch mode % 3 {
	case overTLS:
		return authtest.Conn{TLS: true}
	case overTLSWithClientCert:
		return authtest.Conn{TLS: true, ClientChain: chain}
	}
	return authtest.Conn{}
}

// FuzzFaces reads arbitrary bytes as an HTTP/1.1 request, the way a server
// reads one off the wire, and serves it on all four faces at once, over
// plain HTTP, over TLS and over TLS with a client certificate from the
// cluster CA. Whatever the bytes, no handler panics, the answer is never a
// 5xx, and neither the response nor the audit log holds a stored secret
// that the request did not carry itself. The seeds are TestHostileRequests'
// requests (but its largest) and a well-formed request of each scheme.
func FuzzFaces(f *testing.F) {
	// No CPU budget: the fuzzer checks passwords far faster than a
	// tenth of the machine earns back, and a 503 for that says nothing.
	slots := pwcheck.NewHashSlots(0, 0)
	slots.SetCPUShare(0)
	mux, logs, ca := hostileFaces(f, slots)
	alice, err := ca.IssueClient("alice", mtls.LeafOptions{})
	if err != nil {
		f.Fatal(err)
	}
	chain := []*x509.Certificate{alice.Cert, ca.Cert}

	for _, seed := range faceSeeds() {
		for mode := range uint8(3) {
			f.Add(mode, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, mode uint8, raw []byte) {
		logs.Reset()
		rec := authtest.ServeRaw(mux, raw, connFor(mode, chain))
		if rec == nil {
			return // net/http answers these itself, before any handler
		}
		if rec.Code >= 500 {
			t.Errorf("status %d for %.300q (mode %d): %.300s", rec.Code, raw, mode%3, rec.Body.String())
		}
		body, log := rec.Body.String(), logs.String()
		for _, secret := range storedSecrets {
			if bytes.Contains(raw, []byte(secret)) {
				continue // the client's own, maybe echoed back as its input
			}
			if strings.Contains(body, secret) || strings.Contains(log, secret) {
				t.Errorf("stored secret %q in the response or log for %.300q", secret, raw)
			}
		}
	})
}

// TestFaceSeedsReachTheFaces keeps FuzzFaces from fuzzing nothing: its
// seeds parse as requests, and the well-formed ones get through on their
// face over TLS (the client certificate over TLS with one: 200, or 201 for
// a new token) and are refused over plain HTTP.
func TestFaceSeedsReachTheFaces(t *testing.T) {
	mux, _, ca := hostileFaces(t, nil)
	alice, err := ca.IssueClient("alice", mtls.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain := []*x509.Certificate{alice.Cert, ca.Cert}
	seeds := faceSeeds()
	parsed := 0
	for _, s := range seeds {
		if rec := authtest.ServeRaw(mux, []byte(s), connFor(overTLS, chain)); rec != nil {
			parsed++
		}
	}
	if parsed < 150 {
		t.Errorf("only %d of %d seeds are requests a handler would get", parsed, len(seeds))
	}
	wellFormed := seeds[len(seeds)-6:]
	for i, s := range wellFormed {
		mode := uint8(overTLS)
		if i == len(wellFormed)-1 {
			mode = overTLSWithClientCert
		}
		rec := authtest.ServeRaw(mux, []byte(s), connFor(mode, chain))
		if rec == nil || rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
			t.Errorf("well-formed seed %.80q: %v", s, rec)
			continue
		}
		if mode == overTLSWithClientCert {
			continue // a certificate comes only with TLS
		}
		if plain := authtest.ServeRaw(mux, []byte(s), connFor(overPlainHTTP, chain)); plain == nil || plain.Code != http.StatusForbidden && plain.Code != http.StatusBadRequest {
			t.Errorf("well-formed seed %.80q over plain HTTP: %v, want 403 (400 from the OAuth 2 endpoint)", s, plain)
		}
	}
}

// faceSeeds are raw HTTP/1.1 requests: TestHostileRequests' cases up to
// 16 KiB, and one well-formed request of each scheme.
func faceSeeds() []string {
	const host = "api.example"
	request := func(method, path string, header map[string]string, body string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
		for k, v := range header {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
		if body != "" {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
		}
		b.WriteString("\r\n" + body)
		return b.String()
	}
	var seeds []string
	for _, target := range faceTargets {
		for _, h := range authHeaders {
			seeds = append(seeds, request(target.method, target.path, map[string]string{h.header: h.value}, ""))
		}
		for _, a := range rawAttacks {
			seeds = append(seeds, strings.ReplaceAll(fmt.Sprintf(a.raw, target.path), "{HOST}", host))
		}
		seeds = append(seeds, request(target.method, target.path, nil, ""))
	}
	for _, q := range queryAttacks {
		seeds = append(seeds, request("GET", q.path, nil, ""))
	}
	for _, endpoint := range []string{"/xcatws/tokens", preset.OVirtTokenPath} {
		for _, a := range bodyAttacks {
			seeds = append(seeds, request("POST", endpoint, map[string]string{"Content-Type": a.contentType}, a.body))
		}
	}
	seeds = append(seeds,
		request("GET", "/xcatws/nodes?userName=wsuser&userPW=cluster-secret", nil, ""),
		request("POST", "/xcatws/tokens", map[string]string{"Content-Type": "application/json"}, `{"userName":"wsuser","userPW":"cluster-secret"}`),
		request("GET", "/api/status", map[string]string{"Authorization": "Basic " + b64("admin:satellite-pw")}, ""),
		request("GET", "/ovirt-engine/api", map[string]string{"Authorization": "Basic " + b64("admin@internal:ovirt-pw"), "Prefer": "persistent-auth"}, ""),
		request("POST", preset.OVirtTokenPath, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
			"grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw"),
		request("GET", "/v1/configuration/containers", nil, ""),
	)
	small := seeds[:0]
	for _, s := range seeds {
		if len(s) <= 16<<10 {
			small = append(small, s)
		}
	}
	return small
}
