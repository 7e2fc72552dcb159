package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/gateway"
)

// upstreamRecorder is the service behind the gateway: it keeps every
// request it receives.
type upstreamRecorder struct {
	mu  sync.Mutex
	got []*http.Request
}

func (u *upstreamRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	u.mu.Lock()
	u.got = append(u.got, r.Clone(r.Context()))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"upstream": "ok", "user": r.Header.Get("X-Gatehouse-User")})
}

func (u *upstreamRecorder) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.got)
}

func (u *upstreamRecorder) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		return nil
	}
	return u.got[len(u.got)-1]
}

func writeSignKey(t *testing.T) (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key := []byte(hex.EncodeToString(b))
	p := filepath.Join(t.TempDir(), "sign.key")
	if err := os.WriteFile(p, append(key, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, key
}

// TestServeGateway runs the reference server in gateway mode in front of
// a recording upstream and sends every demo curl line (each scheme, with
// curl), each with spoofed identity headers and an extra cookie: the
// upstream receives the right signed identity and no credential; a request
// without credentials, a wrong password and a spoofed identity alone never
// reach it; a stopped upstream is a 502 problem.
func TestServeGateway(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	up := &upstreamRecorder{}
	upstream := httptest.NewServer(up)
	defer upstream.Close()
	keyFile, key := writeSignKey(t)
	data, work := t.TempDir(), t.TempDir()
	s := startServer(t, data, "--demo", "--upstream", upstream.URL, "--sign-key-file", keyFile)
	c := s.creds(t)
	verifier := gateway.Verifier{Key: key}
	spoof := " -H 'X-Gatehouse-User: root' -H 'X-Gatehouse-Groups: admin' -H 'X-Gatehouse-Signature: v1 t=1 sig=x' -b 'theme=dark' "

	var xcatToken, bearer string
	proxied := 0
	for _, line := range s.curlLines() {
		if strings.Contains(line, "pki-resource") || strings.Contains(line, "personal_access_tokens") {
			continue
		}
		line = strings.ReplaceAll(line, "TOKEN_ID_FROM_ABOVE", xcatToken)
		line = strings.ReplaceAll(line, "ACCESS_TOKEN_FROM_ABOVE", bearer)
		before := up.count()
		out := runCurl(t, work, strings.Replace(line, "curl ", "curl"+spoof, 1))
		var body map[string]any
		_ = json.Unmarshal([]byte(out), &body)
		switch {
		case strings.Contains(line, "/xcatws/tokens"):
			tok, _ := body["token"].(map[string]any)
			xcatToken, _ = tok["id"].(string)
			continue
		case strings.Contains(line, "/sso/oauth/token"):
			bearer, _ = body["access_token"].(string)
			continue
		}
		if up.count() != before+1 {
			t.Fatalf("%s\n→ the upstream got %d requests, want 1", line, up.count()-before)
		}
		proxied++
		got := up.last()
		want := map[string]string{"/xcatws/": "wsuser", "/api/": "admin", "/ovirt-engine/": "admin@internal", "/v1/": "alice"}
		var user string
		for prefix, u := range want {
			if strings.HasPrefix(got.URL.Path, prefix) {
				user = u
			}
		}
		id, err := verifier.Verify(got)
		if err != nil || id.User != user {
			t.Errorf("%s\n→ upstream identity %+v (%v), want %s", line, id, err, user)
		}
		for _, h := range []string{"Authorization", "X-Auth-Token", "Foreman-User"} {
			if got.Header.Get(h) != "" {
				t.Errorf("%s\n→ upstream got %s", line, h)
			}
		}
		cookies := strings.Join(got.Header.Values("Cookie"), "; ")
		if strings.Contains(cookies, "JSESSIONID") || !strings.Contains(cookies, "theme=dark") {
			t.Errorf("%s\n→ upstream cookies %q", line, cookies)
		}
		for _, secret := range []string{c.xcatPW, c.satPW, c.ovirtPW, c.pat, c.consumerSecret, xcatToken, bearer} {
			if secret != "" && (strings.Contains(got.URL.String(), secret) || strings.Contains(headerText(got.Header), secret)) {
				t.Errorf("%s\n→ a secret reached the upstream", line)
			}
		}
		if got.Header.Get("X-Gatehouse-Groups") == "admin" {
			t.Errorf("%s\n→ the spoofed groups header passed", line)
		}
	}
	if proxied < 9 {
		t.Fatalf("only %d demo lines went upstream", proxied)
	}

	// A path outside the products' prefixes uses the default face
	// (satellite): Basic with the password or a PAT.
	runCurl(t, work, "curl --cacert "+data+"/ca/cluster.crt --user admin:"+c.pat+" "+s.base+"/anything/else")
	if got := up.last(); got.URL.Path != "/anything/else" || got.Header.Get("X-Gatehouse-User") != "admin" {
		t.Errorf("default face: %s %q", got.URL.Path, got.Header.Get("X-Gatehouse-User"))
	}

	// Refused requests never reach the upstream.
	before := up.count()
	hc := caClient(t, data)
	for _, req := range []*http.Request{
		must(http.NewRequest("GET", s.base+"/api/status", nil)),
		must(http.NewRequest("GET", s.base+"/anything", nil)),
		func() *http.Request {
			r := must(http.NewRequest("GET", s.base+"/xcatws/nodes", nil))
			r.SetBasicAuth("wsuser", "wrong")
			return r
		}(),
	} {
		req.Header.Set("X-Gatehouse-User", "admin")
		if code, _ := getStatus(t, hc, req); code != 401 {
			t.Errorf("%s with only a spoofed identity: %d, want 401", req.URL.Path, code)
		}
	}
	if up.count() != before {
		t.Errorf("refused requests reached the upstream")
	}

	// The upstream goes away: 502 problem+json, promptly.
	upstream.Close()
	req := must(http.NewRequest("GET", s.base+"/api/status", nil))
	req.SetBasicAuth("admin", c.pat)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 502 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("upstream down: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func headerText(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestUpstreamPathPrefixes: with --upstream-path-prefix only those paths
// are forwarded; others get 404 and never reach the upstream.
func TestUpstreamPathPrefixes(t *testing.T) {
	up := &upstreamRecorder{}
	upstream := httptest.NewServer(up)
	defer upstream.Close()
	g := gatewayOptions{upstreamURL: upstream.URL, prefixes: stringList{"/api/v2", "/xcatws/nodes/"}, defaultFace: "none",
		headers: gateway.DefaultHeaders}
	if err := g.check(&env{}); err != nil {
		t.Fatal(err)
	}
	h := g.proxy(nil, nil)
	for path, want := range map[string]int{"/api/v2": 200, "/api/v2/hosts": 200, "/api/v1/hosts": 404, "/xcatws/nodes/n1": 200, "/xcatws/tokens": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	if up.count() != 3 {
		t.Errorf("the upstream got %d requests, want 3", up.count())
	}
}
