package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/gateway"
)

// freeAddr is a loopback address nobody listens on (yet).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx renders docs/forward-auth/nginx.conf and runs nginx (Debian's
// package) in the foreground until the test ends; it returns nginx's HTTPS
// base URL.
func startNginx(t *testing.T, vars map[string]string) string {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") != "" {
				t.Fatal("nginx not installed (apt-get install nginx-light)")
			}
			t.Skip("nginx not installed")
		}
		nginx = "/usr/sbin/nginx"
	}
	prefix := t.TempDir()
	vars["@PREFIX@"] = prefix
	vars["@LISTEN@"] = freeAddr(t)
	if vars["@GATEHOUSE_TLS@"] == "" {
		vars["@GATEHOUSE_TLS@"] = "127.0.0.1:1" // gatehouse's own endpoints are not used
	}
	// nginx.conf and the file it includes, their placeholders filled in.
	renderConfig(t, "gatehouse_tls.conf", prefix, vars)
	confPath := renderConfig(t, "nginx.conf", prefix, vars)
	t.Cleanup(func() { // registered first, so it runs after runProxy's
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	runProxy(t, vars["@LISTEN@"], nginx, "-e", "stderr", "-p", prefix, "-c", confPath, "-g", "daemon off; master_process off;")
	return "https://" + vars["@LISTEN@"]
}

// curlStatus runs curl (extra arguments as a shell string) and returns the
// HTTP status and the response headers.
func curlStatus(t *testing.T, dir, args string) (int, string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "curl -sS -o /dev/null -D - -w '%{http_code}' "+args)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s\n→ %v\n%s", args, err, out)
	}
	s := strings.TrimSpace(string(out))
	var code int
	fmt.Sscanf(s[strings.LastIndexAny(s, "\n")+1:], "%d", &code)
	return code, s
}

// TestNginxForwardAuth: nginx from Debian's package, configured with
// docs/forward-auth/nginx.conf, asks `gatehouse serve --forward-auth`
// about every request. Basic, an xCAT token, OAuth 1 signed for nginx's
// URL and a client certificate terminated at nginx pass or fail as they do
// on gatehouse directly; the app behind nginx gets the signed identity and
// no credential; spoofed identity and certificate headers do not pass.
func TestNginxForwardAuth(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	app := &upstreamRecorder{}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	keyFile, key := writeSignKey(t)
	data, work := t.TempDir(), t.TempDir()
	s := startServer(t, data, "--demo", "--forward-auth", "--client-cert-header", "X-Client-Cert",
		"--sign-key-file", keyFile, "--http-addr", "127.0.0.1:0")
	if s.plain == "" {
		t.Fatalf("no plain listener:\n%s", strings.Join(s.lines, "\n"))
	}
	c := s.creds(t)
	base := startNginx(t, map[string]string{
		"@CERT@": filepath.Join(data, "server.crt"), "@KEY@": filepath.Join(data, "server.key"),
		"@CA@": filepath.Join(data, "ca", "cluster.crt"), "@GATEHOUSE@": strings.TrimPrefix(s.plain, "http://"),
		"@APP@": strings.TrimPrefix(appSrv.URL, "http://"),
	})
	ca := "--cacert " + filepath.Join(data, "ca", "cluster.crt")
	demo := filepath.Join(data, "demo")

	// An xCAT token from gatehouse itself, used through nginx.
	out := runCurl(t, work, fmt.Sprintf(`curl %s -X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"%s"}' %s/xcatws/tokens`, ca, c.xcatPW, s.base))
	xcatToken := jsonField(t, out, "token", "id")

	// A client certificate from another CA, for nginx to pass and
	// gatehouse to refuse.
	other := t.TempDir()
	cli(t, other, "", "ca", "init", "--cluster-name", "other-cluster")
	cli(t, other, "", "ca", "issue-client", "alice", "--no-user", "--out", other)

	sign := func(url string) string {
		return fmt.Sprintf(`-H 'FOREMAN-USER: admin' -H "$(echo %s | %s --data %s oauth1 sign GET '%s' --consumer katello)"`, c.consumerSecret, binary, data, url)
	}
	spoof := "-H 'X-Gatehouse-User: root' -H 'X-Gatehouse-Groups: admin' "
	for _, tc := range []struct {
		what, args string
		status     int
		user       string
	}{
		{"basic", fmt.Sprintf("--user wsuser:%s %s/xcatws/nodes", c.xcatPW, base), 200, "wsuser"},
		{"basic wrong password", fmt.Sprintf("--user wsuser:nope %s/xcatws/nodes", base), 401, ""},
		{"no credentials", base + "/api/status", 401, ""},
		{"pat", fmt.Sprintf("--user admin:%s %s/api/architectures", c.pat, base), 200, "admin"},
		{"xcat token", fmt.Sprintf("-H 'X-Auth-Token: %s' %s/xcatws/nodes", xcatToken, base), 200, "wsuser"},
		{"bogus token", fmt.Sprintf("-H 'X-Auth-Token: %s' %s/xcatws/nodes", strings.Repeat("0", len(xcatToken)), base), 401, ""},
		{"oauth1 for nginx's URL", sign(base+"/api/architectures") + " " + base + "/api/architectures", 200, "admin"},
		{"oauth1 for gatehouse's URL", sign(s.base+"/api/architectures") + " " + base + "/api/architectures", 401, ""},
		{"client certificate", fmt.Sprintf("--cert %s/alice.crt --key %s/alice.key %s/v1/configuration/containers", demo, demo, base), 200, "alice"},
		{"certificate of another CA", fmt.Sprintf("--cert %s/alice.crt --key %s/alice.key %s/v1/configuration/containers", other, other, base), 401, ""},
		{"certificate in a header", fmt.Sprintf("-H \"X-Client-Cert: $(sed 's/$/%%0A/' %s/alice.crt | tr -d '\\n')\" %s/v1/configuration/containers", demo, base), 401, ""},
		{"spoofed identity only", base + "/xcatws/nodes", 401, ""},
	} {
		before := app.count()
		code, headers := curlStatus(t, work, ca+" "+spoof+tc.args)
		if code != tc.status {
			t.Errorf("%s: %d, want %d\n%s", tc.what, code, tc.status, headers)
			continue
		}
		if tc.status == 401 {
			// Flocker's face (client certificates) has no challenge to offer.
			if !strings.Contains(tc.args, "/v1/") && !strings.Contains(strings.ToLower(headers), "www-authenticate:") {
				t.Errorf("%s: 401 without gatehouse's challenge\n%s", tc.what, headers)
			}
			if app.count() != before {
				t.Errorf("%s: a refused request reached the app", tc.what)
			}
			continue
		}
		got := app.last()
		if app.count() != before+1 || got == nil {
			t.Errorf("%s: the app got nothing", tc.what)
			continue
		}
		id, err := gateway.Verifier{Key: key}.Verify(got)
		if err != nil || id.User != tc.user {
			t.Errorf("%s: the app saw identity %+v (%v), want %s", tc.what, id, err, tc.user)
		}
		if got.Header.Get("X-Gatehouse-Groups") == "admin" {
			t.Errorf("%s: the spoofed groups header passed", tc.what)
		}
		for _, h := range []string{"Authorization", "X-Auth-Token", "Foreman-User", "X-Client-Cert"} {
			if got.Header.Get(h) != "" {
				t.Errorf("%s: the app got %s", tc.what, h)
			}
		}
	}

	// The same requests on gatehouse directly agree (spot checks of the
	// cases above that do not depend on the URL).
	for _, tc := range []struct {
		args   string
		status int
	}{
		{fmt.Sprintf("--user wsuser:%s %s/xcatws/nodes", c.xcatPW, s.base), 200},
		{fmt.Sprintf("--user wsuser:nope %s/xcatws/nodes", s.base), 401},
		{fmt.Sprintf("--cert %s/alice.crt --key %s/alice.key %s/v1/configuration/containers", demo, demo, s.base), 200},
	} {
		if code, h := curlStatus(t, work, ca+" "+tc.args); code != tc.status {
			t.Errorf("directly %s: %d, want %d\n%s", tc.args, code, tc.status, h)
		}
	}
}

// jsonField digs a string out of a JSON object along path.
func jsonField(t *testing.T, text string, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("not JSON: %s", text)
	}
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	if s == "" {
		t.Fatalf("no %v in %s", path, text)
	}
	return s
}

// TestForwardAuthRecordedRequests replays, byte for byte over TCP, the
// requests Traefik's ForwardAuth and Envoy's HTTP ext_authz send for a
// client's request (testdata/forward-auth, credentials filled in), against
// `serve --forward-auth`, and checks that docs/forward-auth's snippets use
// the same endpoint and headers. (Neither proxy is packaged by Debian; nginx
// is run for real in TestNginxForwardAuth.)
func TestForwardAuthRecordedRequests(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--forward-auth", "--http-addr", "127.0.0.1:0")
	c := s.creds(t)
	basic := func(user, pw string) string { return base64.StdEncoding.EncodeToString([]byte(user + ":" + pw)) }
	hc := caClient(t, data)
	form := url.Values{"grant_type": {"password"}, "scope": {"ovirt-app-api"}, "username": {"admin@internal"}, "password": {c.ovirtPW}}
	res, err := hc.PostForm(s.base+"/ovirt-engine/sso/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	tokenBody, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fill := map[string]string{
		"@XCAT_BASIC@":    basic("wsuser", c.xcatPW),
		"@XCAT_WRONG@":    basic("wsuser", "wrong"),
		"@SAT_PAT_BASIC@": basic("admin", c.pat),
		"@OVIRT_BEARER@":  jsonField(t, string(tokenBody), "access_token"),
		"@OAUTH1_API_EXAMPLE@": strings.TrimPrefix(strings.TrimSpace(cli(t, data, c.consumerSecret+"\n", "oauth1", "sign", "GET",
			"https://api.example.com/api/architectures", "--consumer", "katello")), "Authorization: "),
	}
	// Each recording is replayed on its dialect's endpoint and on the one
	// for any dialect (a nonce is good once: the OAuth 1 ones only once).
	type recorded struct {
		file, endpoint, user, challenge string
		status                          int
	}
	var cases []recorded
	for _, tc := range []recorded{
		{"traefik-basic.http", "/auth/traefik", "wsuser", "", 200},
		{"traefik-basic-wrong.http", "/auth/traefik", "", "Basic", 401},
		{"traefik-oauth1.http", "/auth/traefik", "admin", "", 200},
		// Attack (200 before the fix): Traefik passes its client's
		// headers on; the client added nginx's X-Original-URI/-Method for a
		// path it may use while Traefik forwards DELETE /api/admin/1.
		{"traefik-spoofed-original-uri.http", "/auth/traefik", "", "", 400},
		{"envoy-bearer.http", "/auth/envoy", "admin@internal", "", 200},
		{"envoy-none.http", "/auth/envoy", "", "Bearer", 401},
		{"envoy-pat.http", "/auth/envoy", "admin", "", 200},
	} {
		cases = append(cases, tc)
		if !strings.Contains(tc.file, "oauth1") {
			tc.endpoint = "/auth/verify"
			cases = append(cases, tc)
		}
	}
	for _, tc := range cases {
		raw, err := os.ReadFile(filepath.Join("testdata", "forward-auth", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(raw), "@ENDPOINT@", tc.endpoint)
		for k, v := range fill {
			text = strings.ReplaceAll(text, k, v)
		}
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.plain, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte(text))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		res.Body.Close()
		conn.Close()
		if res.StatusCode != tc.status || res.Header.Get("X-Gatehouse-User") != tc.user {
			t.Errorf("%s at %s: %d user %q, want %d %q", tc.file, tc.endpoint, res.StatusCode, res.Header.Get("X-Gatehouse-User"), tc.status, tc.user)
		}
		if tc.challenge != "" && !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), ","), tc.challenge) {
			t.Errorf("%s: challenges %q, want %s", tc.file, res.Header.Values("WWW-Authenticate"), tc.challenge)
		}
	}

	for file, wants := range map[string][]string{
		"traefik.yml": {"/auth/traefik", "X-Gatehouse-User", "X-Gatehouse-Groups", "X-Gatehouse-Scheme", "X-Gatehouse-Signature", "trustForwardHeader: false", "Authorization: \"\""},
		"envoy.yaml":  {"path_prefix: /auth/envoy", "prefix: x-gatehouse-", "exact: authorization", "exact: www-authenticate", "request_headers_to_remove: [authorization"},
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", "forward-auth", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				t.Errorf("docs/forward-auth/%s lacks %q", file, w)
			}
		}
	}
}
