package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/internal/oauthsig"
)

// appRecorder is the API behind a proxy: it records every request it gets,
// body included, to check that no credential reached it.
type appRecorder struct {
	mu   sync.Mutex
	got  []*http.Request
	body []string
}

func (a *appRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.got = append(a.got, r.Clone(r.Context()))
	a.body = append(a.body, string(b))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"upstream":"ok","user":%q}`, r.Header.Get("X-Gatehouse-User"))
}

// last is the newest request, its body, and how many there were.
func (a *appRecorder) last() (*http.Request, string, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		return nil, "", 0
	}
	return a.got[len(a.got)-1], a.body[len(a.body)-1], len(a.got)
}

func (a *appRecorder) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.got)
}

// proxyRig is gatehouse behind one real proxy, with the app behind both.
type proxyRig struct {
	base   string // the proxy's HTTPS URL, what clients use
	app    *appRecorder
	appURL string
	s      *server
	data   string
	work   string
	c      demoCreds
	key    []byte
}

// curl runs curl with the CA and args (a shell string) and returns the
// status, the response headers and the body.
func (rig *proxyRig) curl(t *testing.T, args string) (int, string, string) {
	t.Helper()
	bodyFile := filepath.Join(rig.work, "body")
	// Every request also carries identity and credential headers in the
	// underscore spelling a CGI, WSGI or Rack upstream reads as the real
	// one: they must never reach the app (credentialIn).
	cmd := exec.Command("sh", "-c", "curl -sS --http1.1 --cacert "+filepath.Join(rig.data, "ca", "cluster.crt")+
		" -H 'X_Gatehouse_User: root' -H 'X_Auth_Token: stolen' -o "+bodyFile+" -D - -w '\\n%{http_code}' "+args)
	cmd.Dir = rig.work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s\n→ %v\n%s", args, err, out)
	}
	s := strings.TrimSpace(string(out))
	var code int
	fmt.Sscanf(s[strings.LastIndex(s, "\n")+1:], "%d", &code)
	body, _ := os.ReadFile(bodyFile)
	_ = os.Remove(bodyFile)
	return code, s, string(body)
}

// schemeResult is one cell of the proxy × scheme matrix.
type schemeResult struct {
	scheme string
	ok     bool
	note   string
}

// runSchemes sends every scheme through the proxy, as its real clients do
// with curl, and checks each answer against gatehouse directly: right
// credentials pass with the right identity (signed), wrong ones fail with
// gatehouse's status and challenge, and the app never sees a credential.
func (rig *proxyRig) runSchemes(t *testing.T) []schemeResult {
	var results []schemeResult
	record := func(scheme string, ok bool, format string, args ...any) {
		results = append(results, schemeResult{scheme, ok, fmt.Sprintf(format, args...)})
		if !ok {
			t.Errorf("%s: "+format, append([]any{scheme}, args...)...)
		}
	}
	// passes checks a request that must reach the app as user (with the
	// identity signed for method and path) and without any credential.
	passes := func(scheme, user, args string) bool {
		t.Helper()
		before := rig.app.count()
		code, headers, body := rig.curl(t, args)
		got, gotBody, n := rig.app.last()
		switch {
		case code != 200:
			record(scheme, false, "%d, want 200\n%s\n%s", code, headers, body)
			return false
		case n != before+1:
			record(scheme, false, "200 but the app got %d requests", n-before)
			return false
		case strings.Contains(headers, "{rp.") || strings.Contains(headers, "{http."):
			record(scheme, false, "a proxy's placeholder reached the client:\n%s", headers)
			return false
		case scheme != "persistent-auth session" && strings.Contains(strings.ToLower(headers), "set-cookie:"):
			record(scheme, false, "a cookie without Prefer: persistent-auth:\n%s", headers)
			return false
		}
		if id, err := (gateway.Verifier{Key: rig.key}).Verify(got); err != nil || id.User != user {
			record(scheme, false, "the app saw identity %+v (%v), want %s; it got %s %s %v", id, err, user, got.Method, got.URL, got.Header)
			return false
		}
		if leak := credentialIn(got, gotBody); leak != "" {
			record(scheme, false, "the app got a credential: %s", leak)
			return false
		}
		return true
	}
	// fails checks a request that must not reach the app, with gatehouse's
	// status and, for 401, a challenge naming want.
	fails := func(scheme string, status int, challenge, args string) bool {
		t.Helper()
		before := rig.app.count()
		code, headers, body := rig.curl(t, args)
		switch {
		case code != status:
			record(scheme, false, "refusal: %d, want %d\n%s\n%s", code, status, headers, body)
			return false
		case rig.app.count() != before:
			record(scheme, false, "a refused request reached the app")
			return false
		case challenge != "" && !strings.Contains(strings.ToLower(headers), "www-authenticate: ") ||
			challenge != "" && !strings.Contains(headers, challenge):
			record(scheme, false, "401 without the %s challenge\n%s", challenge, headers)
			return false
		}
		return true
	}
	b, c := rig.base, rig.c

	if passes("Basic", "wsuser", fmt.Sprintf("--user wsuser:%s %s/xcatws/nodes", c.xcatPW, b)) &&
		fails("Basic", 401, "Basic", fmt.Sprintf("--user wsuser:wrong %s/xcatws/nodes", b)) {
		record("Basic", true, "")
	}

	if passes("query credentials", "wsuser", fmt.Sprintf("'%s/xcatws/nodes?userName=wsuser&userPW=%s&format=json'", b, url.QueryEscape(c.xcatPW))) {
		got, _, _ := rig.app.last()
		if got.URL.RawQuery != "format=json" {
			record("query credentials", false, "the app got the query %q, want format=json", got.URL.RawQuery)
		} else if fails("query credentials", 401, "", fmt.Sprintf("'%s/xcatws/nodes?userName=wsuser&userPW=wrong'", b)) {
			record("query credentials", true, "")
		}
	}

	code, _, body := rig.curl(t, fmt.Sprintf(`-X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"%s"}' %s/xcatws/tokens`, c.xcatPW, b))
	if code != 201 && code != 200 {
		record("xCAT token", false, "POST /xcatws/tokens: %d %s", code, body)
	} else if tok := jsonField(t, body, "token", "id"); passes("xCAT token", "wsuser", fmt.Sprintf("-H 'X-Auth-Token: %s' %s/xcatws/nodes", tok, b)) &&
		fails("xCAT token", 401, "", fmt.Sprintf("-H 'X-Auth-Token: %s' %s/xcatws/nodes", strings.Repeat("0", len(tok)), b)) {
		record("xCAT token", true, "")
	}

	if passes("PAT", "admin", fmt.Sprintf("--user admin:%s %s/api/architectures", c.pat, b)) &&
		fails("PAT", 401, "Basic", fmt.Sprintf("--user admin:gate_pat_wrong %s/api/architectures", b)) {
		record("PAT", true, "")
	}

	sign := func(method, u string) string {
		return fmt.Sprintf(`-H 'FOREMAN-USER: admin' -H "$(echo %s | %s --data %s oauth1 sign %s '%s' --consumer katello)"`, c.consumerSecret, binary, rig.data, method, u)
	}
	if passes("OAuth 1 (header)", "admin", sign("GET", b+"/api/architectures?page=2")+" '"+b+"/api/architectures?page=2'") &&
		fails("OAuth 1 (header)", 401, "", sign("GET", b+"/api/architectures?page=3")+" '"+b+"/api/architectures?page=2'") {
		record("OAuth 1 (header)", true, "")
	}
	form := formSigned(b+"/api/hosts", c.consumerSecret, url.Values{"name": {"web01"}, "FOREMAN-USER": nil})
	if passes("OAuth 1 (form body)", "admin", fmt.Sprintf("-H 'FOREMAN-USER: admin' --data-binary '%s' %s/api/hosts", form, b)) {
		_, gotBody, _ := rig.app.last()
		if gotBody != "name=web01" {
			record("OAuth 1 (form body)", false, "the app got the body %q, want name=web01", gotBody)
		} else if fails("OAuth 1 (form body)", 401, "", fmt.Sprintf("-H 'FOREMAN-USER: admin' --data-binary '%s' %s/api/hosts", strings.Replace(form, "web01", "web02", 1), b)) {
			record("OAuth 1 (form body)", true, "")
		}
	}

	code, _, body = rig.curl(t, fmt.Sprintf(`--data-urlencode grant_type=password --data-urlencode scope=ovirt-app-api --data-urlencode username=admin@internal --data-urlencode password=%s %s/ovirt-engine/sso/oauth/token`, c.ovirtPW, b))
	if code != 200 {
		record("OAuth 2 grant + bearer", false, "token endpoint: %d %s", code, body)
	} else if tok := jsonField(t, body, "access_token"); passes("OAuth 2 grant + bearer", "admin@internal", fmt.Sprintf("-H 'Authorization: Bearer %s' %s/ovirt-engine/api/vms", tok, b)) &&
		fails("OAuth 2 grant + bearer", 401, "Bearer", fmt.Sprintf("-H 'Authorization: Bearer %s' %s/ovirt-engine/api/vms", strings.Repeat("x", len(tok)), b)) {
		record("OAuth 2 grant + bearer", true, "")
	}

	jar := filepath.Join(rig.work, "jar")
	_ = os.Remove(jar)
	if passes("persistent-auth session", "admin@internal", fmt.Sprintf("-c %s -H 'Prefer: persistent-auth' --user admin@internal:%s %s/ovirt-engine/api", jar, c.ovirtPW, b)) {
		cookies, _ := os.ReadFile(jar)
		if !strings.Contains(string(cookies), "JSESSIONID") {
			record("persistent-auth session", false, "the client got no JSESSIONID cookie")
		} else if passes("persistent-auth session", "admin@internal", fmt.Sprintf("-b %s -b theme=dark -H 'Prefer: persistent-auth' -H \"JSESSIONID: $(awk '/JSESSIONID/{print $7}' %s)\" %s/ovirt-engine/api", jar, jar, b)) {
			// (oVirt's csrf-protection echoes the id in a JSESSIONID header.)
			got, _, _ := rig.app.last()
			if got.Header.Get("X-Gatehouse-Scheme") != "session" {
				record("persistent-auth session", false, "the cookie request was %q, not a session", got.Header.Get("X-Gatehouse-Scheme"))
			} else if ck, err := got.Cookie("theme"); err != nil || ck.Value != "dark" {
				record("persistent-auth session", false, "the app lost the other cookies: %q", got.Header.Values("Cookie"))
			} else if fails("persistent-auth session", 401, "", fmt.Sprintf("-b JSESSIONID=%s %s/ovirt-engine/api", strings.Repeat("A", 43), b)) {
				record("persistent-auth session", true, "")
			}
		}
	}

	other := filepath.Join(rig.work, "other")
	if _, err := os.Stat(filepath.Join(other, "alice.crt")); err != nil {
		cli(t, other, "", "ca", "init", "--cluster-name", "other-cluster")
		cli(t, other, "", "ca", "issue-client", "alice", "--no-user", "--out", other)
	}
	demo := filepath.Join(rig.data, "demo")
	if passes("client certificate", "alice", fmt.Sprintf("--cert %s/alice.crt --key %s/alice.key %s/v1/configuration/containers", demo, demo, b)) &&
		fails("client certificate", 401, "", fmt.Sprintf("--cert %s/alice.crt --key %s/alice.key %s/v1/configuration/containers", other, other, b)) &&
		fails("client certificate", 401, "", fmt.Sprintf("-H \"X-Client-Cert: $(sed 's/$/%%0A/' %s/alice.crt | tr -d '\\n')\" -H \"X-SSL-Client-Der: $(openssl x509 -in %s/alice.crt -outform der | base64 -w0)\" %s/v1/configuration/containers", demo, demo, b)) {
		record("client certificate", true, "")
	}
	return results
}

// credentialIn names a credential that reached the app, or "".
func credentialIn(r *http.Request, body string) string {
	for _, h := range []string{"Authorization", "X-Auth-Token", "Foreman-User", "X-Client-Cert", "X-Ssl-Client-Der", "Jsessionid"} {
		if v := r.Header.Get(h); v != "" {
			return h + ": " + v
		}
	}
	for name := range r.Header {
		if strings.Contains(name, "_") {
			return name
		}
	}
	for _, c := range r.Cookies() {
		if strings.EqualFold(c.Name, "JSESSIONID") {
			return "cookie JSESSIONID"
		}
	}
	for _, raw := range []string{r.URL.RawQuery, body} {
		q, _ := url.ParseQuery(raw)
		for k := range q {
			if k == "userName" || k == "userPW" || k == "password" || strings.HasPrefix(k, "oauth_") || k == "access_token" {
				return "parameter " + k
			}
		}
	}
	return ""
}

// formSigned is a form body with OAuth 1 parameters in it, signed (1-legged
// HMAC-SHA1, consumer katello) for POST rawURL; a nil value in extra is
// left out of the body.
func formSigned(rawURL, secret string, extra url.Values) string {
	u, _ := url.Parse(rawURL)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	params := []oauthsig.Param{{Name: "oauth_consumer_key", Value: "katello"}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
		{Name: "oauth_timestamp", Value: fmt.Sprint(time.Now().Unix())}, {Name: "oauth_nonce", Value: hex.EncodeToString(nonce)}, {Name: "oauth_version", Value: "1.0"}}
	var keys []string
	for k, v := range extra {
		if v != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var body []string
	for _, k := range keys {
		params = append(params, oauthsig.Param{Name: k, Value: extra.Get(k)})
		body = append(body, oauthsig.Encode(k)+"="+oauthsig.Encode(extra.Get(k)))
	}
	base := oauthsig.BaseString("POST", oauthsig.BaseURI(u.Scheme, u.Host, u.EscapedPath()), params)
	params = append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", base, secret, "")})
	for _, p := range params {
		if strings.HasPrefix(p.Name, "oauth_") {
			body = append(body, p.Name+"="+oauthsig.Encode(p.Value))
		}
	}
	return strings.Join(body, "&")
}

// startGatehouseForProxy runs `serve --demo` with args and the app behind
// it, for a proxy in front.
func startGatehouseForProxy(t *testing.T, args ...string) *proxyRig {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	app := &appRecorder{}
	appSrv := httptest.NewServer(app)
	t.Cleanup(appSrv.Close)
	keyFile, key := writeSignKey(t)
	data, work := t.TempDir(), t.TempDir()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "@APP@", appSrv.URL)
	}
	s := startServer(t, data, append([]string{"--demo", "--sign-key-file", keyFile, "--http-addr", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1/32"}, args...)...)
	return &proxyRig{app: app, appURL: appSrv.URL, s: s, data: data, work: work, c: s.creds(t), key: key}
}

// writeMatrix prints the proxy × scheme results (go test -v shows them).
func writeMatrix(t *testing.T, proxy string, results []schemeResult) {
	var b strings.Builder
	for _, r := range results {
		if r.note == "" {
			fmt.Fprintf(&b, "%s × %s: %v\n", proxy, r.scheme, r.ok)
		}
	}
	t.Logf("\n%s", b.String())
}

// requireTool finds a proxy's binary, or skips (fails under
// GATEHOUSE_REQUIRE_INTEGRATION).
func requireTool(t *testing.T, name string, paths ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") != "" {
		t.Fatalf("%s not installed (.ci/run installs it)", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string, log func() string) {
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen:\n%s", addr, log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProxyNginx: nginx (Debian's) with docs/forward-auth/nginx.conf in
// front of `serve --forward-auth`: every scheme end to end.
func TestProxyNginx(t *testing.T) {
	rig := startGatehouseForProxy(t, "--forward-auth", "--upstream", "@APP@", "--client-cert-header", "X-Client-Cert")
	rig.base = startNginx(t, map[string]string{
		"@CERT@": filepath.Join(rig.data, "server.crt"), "@KEY@": filepath.Join(rig.data, "server.key"),
		"@CA@": filepath.Join(rig.data, "ca", "cluster.crt"), "@GATEHOUSE@": strings.TrimPrefix(rig.s.plain, "http://"),
		"@GATEHOUSE_TLS@": strings.TrimPrefix(rig.s.base, "https://"), "@APP@": strings.TrimPrefix(rig.appURL, "http://"),
	})
	writeMatrix(t, "nginx", rig.runSchemes(t))
}

// renderConfig fills a docs/forward-auth file's @NAMES@ into dir and
// returns its path.
func renderConfig(t *testing.T, name, dir string, vars map[string]string) string {
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "docs", "forward-auth", name))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(tmpl)
	for k, v := range vars {
		conf = strings.ReplaceAll(conf, k, v)
	}
	for k := range vars {
		if strings.Contains(conf, k) {
			t.Fatalf("%s: %s left", name, k)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runProxy starts a proxy process until the test ends and waits for addr.
func runProxy(t *testing.T, addr string, name string, args ...string) {
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", name, out.String())
		}
	})
	waitListening(t, addr, out.String)
}

// TestProxyCaddy: Caddy 2.6 (Debian's) with docs/forward-auth/Caddyfile in
// front of `serve --forward-auth`: every scheme end to end.
func TestProxyCaddy(t *testing.T) {
	caddy := requireTool(t, "caddy", "/usr/bin/caddy")
	rig := startGatehouseForProxy(t, "--forward-auth", "--upstream", "@APP@", "--client-cert-header", "X-Client-Cert")
	listen := freeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	conf := renderConfig(t, "Caddyfile", t.TempDir(), map[string]string{
		"@SITE@": "localhost:" + port, "@BIND@": "127.0.0.1", "@CERT@": filepath.Join(rig.data, "server.crt"), "@KEY@": filepath.Join(rig.data, "server.key"),
		"@CA@": filepath.Join(rig.data, "ca", "cluster.crt"), "@GATEHOUSE_TLS@": strings.TrimPrefix(rig.s.base, "https://"),
		"@GATEHOUSE@": strings.TrimPrefix(rig.s.plain, "http://"), "@APP@": strings.TrimPrefix(rig.appURL, "http://"),
	})
	runProxy(t, listen, caddy, "run", "--adapter", "caddyfile", "--config", conf)
	rig.base = "https://localhost:" + port
	writeMatrix(t, "caddy", rig.runSchemes(t))
}

// TestProxyHAProxy: HAProxy 2.6 (Debian's) with docs/forward-auth/haproxy.cfg
// terminating TLS in front of `serve --upstream` (gateway mode), the client
// certificate passed as base64 DER: every scheme end to end.
func TestProxyHAProxy(t *testing.T) {
	haproxy := requireTool(t, "haproxy", "/usr/sbin/haproxy")
	rig := startGatehouseForProxy(t, "--upstream", "@APP@", "--client-cert-header", "X-SSL-Client-Der")
	dir := t.TempDir()
	crt, err := os.ReadFile(filepath.Join(rig.data, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(rig.data, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "haproxy.pem")
	if err := os.WriteFile(pem, append(crt, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	conf := renderConfig(t, "haproxy.cfg", dir, map[string]string{
		"@BIND@": listen, "@PEM@": pem, "@CA@": filepath.Join(rig.data, "ca", "cluster.crt"),
		"@GATEHOUSE_TLS@": strings.TrimPrefix(rig.s.base, "https://"),
	})
	runProxy(t, listen, haproxy, "-db", "-f", conf)
	rig.base = "https://" + listen
	writeMatrix(t, "haproxy", rig.runSchemes(t))
}
