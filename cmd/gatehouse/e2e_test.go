package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/syncbuf"
	"github.com/gatehouse/gatehouse/internal/testservers"
)

// binary is the gatehouse command built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	if up := os.Getenv(bareProxyEnv); up != "" {
		runBareProxy(up) // the load report's bare proxy, in a process of its own
		return
	}
	dir, err := os.MkdirTemp("", "gatehouse-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	testservers.StopAll()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs one gatehouse command with stdin and returns stdout; it fails the
// test on a non-zero exit.
func cli(t *testing.T, data, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := cliStatus(t, data, stdin, args...)
	if code != 0 {
		t.Fatalf("gatehouse %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func cliStatus(t *testing.T, data, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--data", data}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errOut.String(), ee.ExitCode()
		}
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// server is a running `gatehouse serve`.
type server struct {
	cmd    *exec.Cmd
	base   string
	plain  string   // the plain-HTTP listener's URL with --allow-insecure
	lines  []string // everything it printed on stdout up to the last demo line
	stderr *syncbuf.Buffer
}

// startServer runs serve on a free loopback port and waits until it has
// printed its address (and, with --demo, the demo lines).
func startServer(t *testing.T, data string, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, data, args...)
}

// startServerEnv is startServer with env (KEY=value) in place of the
// test's environment, when env is not nil.
func startServerEnv(t *testing.T, env []string, data string, args ...string) *server {
	t.Helper()
	return startServerLog(t, env, nil, data, args...)
}

// startLoadServer is startServer for a load report: serve's audit log
// goes to a file beside data, as an operator's redirect sends it, rather
// than through a pipe into this process's memory, whose reading and
// growing (hundreds of MB in a report) took CPU from the rows that log
// and not from the bare handler, which does not.
func startLoadServer(t *testing.T, data string, args ...string) *server {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return startServerLog(t, nil, f, data, args...)
}

// startServerLog is startServerEnv with serve's standard error on log
// when it is not nil (s.stderr then stays empty).
func startServerLog(t *testing.T, env []string, log *os.File, data string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--data", data, "serve", "--addr", "127.0.0.1:0", "--http-addr", "", "--drain", "0"}, args...)...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &syncbuf.Buffer{}}
	cmd.Stderr = s.stderr
	if log != nil {
		cmd.Stderr = log
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t) })
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		demo := false
		for sc.Scan() {
			line := sc.Text()
			s.lines = append(s.lines, line)
			if m := regexp.MustCompile(`serving (http://\S+) WITHOUT TLS`).FindStringSubmatch(line); m != nil {
				s.plain = m[1]
			}
			if m := regexp.MustCompile(`serving (https://\S+)`).FindStringSubmatch(line); m != nil {
				s.base = m[1]
				if !demo && !slices.Contains(args, "--demo") {
					ready <- nil
				}
			}
			if m := regexp.MustCompile(`(http://\S+) redirects to HTTPS`).FindStringSubmatch(line); m != nil {
				s.plain = m[1]
			}
			if strings.Contains(line, "The same as shell variables") { // the last demo line
				ready <- nil
			}
		}
		ready <- fmt.Errorf("serve exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Wait()
			t.Fatalf("%v\nstderr:\n%s", err, s.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve not ready after 60 s\nstderr:\n%s", s.stderr)
	}
	return s
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve did not exit cleanly: %v\nstderr:\n%s", err, s.stderr)
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("serve ignored SIGTERM for 15 s")
	}
}

// metricsURL is the /metrics address serve printed (with --metrics-addr).
func (s *server) metricsURL(t *testing.T) string {
	t.Helper()
	for _, l := range s.lines {
		if u, ok := strings.CutPrefix(l, "gatehouse: metrics at "); ok {
			return u
		}
	}
	t.Fatalf("no metrics address printed: %q", s.lines)
	return ""
}

// curlLines are the demo's printed curl lines.
func (s *server) curlLines() []string {
	var out []string
	for _, l := range s.lines {
		if strings.HasPrefix(l, "curl ") {
			out = append(out, l)
		}
	}
	return out
}

// runCurl runs one printed curl line through sh in dir, with --fail so any
// 4xx/5xx fails, and returns its output.
func runCurl(t *testing.T, dir, line string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", strings.Replace(line, "curl ", "curl --fail -sS ", 1))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s\n→ %v\n%s", line, err, out)
	}
	return string(out)
}

var demoField = regexp.MustCompile(`^\s+(xCAT|Satellite|oVirt)\s+(\S+) / (\S+)`)

type demoCreds struct {
	xcatPW, satPW, ovirtPW, pat, consumerSecret string
}

func (s *server) creds(t *testing.T) demoCreds {
	t.Helper()
	var c demoCreds
	for _, l := range s.lines {
		if m := demoField.FindStringSubmatch(l); m != nil {
			pw := strings.TrimSuffix(m[3], ",")
			switch m[1] {
			case "xCAT":
				c.xcatPW = pw
			case "Satellite":
				c.satPW = pw
				c.pat = l[strings.LastIndex(l, " ")+1:]
			case "oVirt":
				c.ovirtPW = pw
			}
		}
		if m := regexp.MustCompile(`consumer katello / (\S+)`).FindStringSubmatch(l); m != nil {
			c.consumerSecret = m[1]
		}
	}
	if c.xcatPW == "" || c.satPW == "" || c.ovirtPW == "" || !strings.HasPrefix(c.pat, "gate_pat_") || c.consumerSecret == "" {
		t.Fatalf("demo credentials not found in:\n%s", strings.Join(s.lines, "\n"))
	}
	return c
}

// TestServeDemoEveryPrintedLine starts the server with --demo on a fresh
// data directory and runs every curl line it printed (filling in the
// tokens the earlier lines returned), then restarts it without --demo and
// checks the same credentials, PAT, token and CA still work.
func TestServeDemoEveryPrintedLine(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	data, work := t.TempDir(), t.TempDir()
	s := startServer(t, data, "--demo")
	lines := s.curlLines()
	if len(lines) < 12 {
		t.Fatalf("only %d curl lines printed:\n%s", len(lines), strings.Join(s.lines, "\n"))
	}
	var xcatToken, bearer string
	for _, line := range lines {
		line = strings.ReplaceAll(line, "TOKEN_ID_FROM_ABOVE", xcatToken)
		line = strings.ReplaceAll(line, "ACCESS_TOKEN_FROM_ABOVE", bearer)
		out := runCurl(t, work, line)
		var body map[string]any
		_ = json.Unmarshal([]byte(out), &body)
		switch {
		case strings.Contains(line, "/xcatws/tokens"):
			tok, _ := body["token"].(map[string]any)
			xcatToken, _ = tok["id"].(string)
			if xcatToken == "" {
				t.Fatalf("no xCAT token in %s", out)
			}
		case strings.Contains(line, "/sso/oauth/token"):
			bearer, _ = body["access_token"].(string)
			if bearer == "" {
				t.Fatalf("no access_token in %s", out)
			}
		case strings.Contains(line, "/api/status"):
			if body["result"] != "ok" {
				t.Errorf("status: %s", out)
			}
		case strings.Contains(line, "personal_access_tokens"):
			if v, _ := body["token_value"].(string); !strings.HasPrefix(v, "gate_pat_") {
				t.Errorf("PAT create: %s", out)
			}
		case strings.Contains(line, "pki-resource"):
			if !strings.Contains(out, "BEGIN CERTIFICATE") {
				t.Errorf("pki-resource: %s", out)
			}
		}
	}
	c := s.creds(t)
	s.stop(t)

	// Restart without --demo: same users, PAT, xCAT token and CA.
	s2 := startServer(t, data)
	for _, line := range []string{
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt --user admin:%s %s/api/status", data, c.pat, s2.base),
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt --user admin@internal:%s %s/ovirt-engine/api", data, c.ovirtPW, s2.base),
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt -H 'X-Auth-Token: %s' %s/xcatws/nodes", data, xcatToken, s2.base),
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt -H 'Authorization: Bearer %s' %s/ovirt-engine/api/vms", data, bearer, s2.base),
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt --cert %s/demo/alice.crt --key %s/demo/alice.key %s/v1/configuration/containers", data, data, data, s2.base),
	} {
		runCurl(t, work, line)
	}
}

func caClient(t *testing.T, data string, certs ...tls.Certificate) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(data, "ca", "cluster.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
}

func getStatus(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeGoClients drives every face with Go's clients: x/oauth2's
// password grant, dghubble/oauth1 with FOREMAN-USER, a cookie jar for
// persistent-auth, a client certificate; and shows that CLI changes made
// while the server runs take effect on the next request.
func TestServeGoClients(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--demo")
	c := s.creds(t)
	hc := caClient(t, data)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

	// oVirt: password grant with the mandatory scope, then the API.
	conf := &oauth2.Config{ClientID: "ovirt-engine-sdk", Scopes: []string{"ovirt-app-api"},
		Endpoint: oauth2.Endpoint{TokenURL: s.base + "/ovirt-engine/sso/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := conf.PasswordCredentialsToken(ctx, "admin@internal", c.ovirtPW)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	req, _ := http.NewRequest("GET", s.base+"/ovirt-engine/api/vms", nil)
	if code, body := getStatus(t, conf.Client(ctx, tok), req); code != 200 || !strings.Contains(body, "demo-vm") {
		t.Errorf("bearer: %d %s", code, body)
	}
	// A wrong password: 401.
	req, _ = http.NewRequest("GET", s.base+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", "wrong")
	if code, _ := getStatus(t, hc, req); code != 401 {
		t.Errorf("wrong oVirt password: %d, want 401", code)
	}

	// oVirt persistent-auth with a cookie jar: the second request sends no
	// credentials.
	jar, _ := cookiejar.New(nil)
	jc := caClient(t, data)
	jc.Jar = jar
	req, _ = http.NewRequest("GET", s.base+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", c.ovirtPW)
	req.Header.Set("Prefer", "persistent-auth")
	if code, body := getStatus(t, jc, req); code != 200 {
		t.Fatalf("persistent-auth login: %d %s", code, body)
	}
	req, _ = http.NewRequest("GET", s.base+"/ovirt-engine/api", nil)
	req.Header.Set("Prefer", "persistent-auth")
	if code, body := getStatus(t, jc, req); code != 200 || !strings.Contains(body, "admin") {
		t.Errorf("persistent-auth cookie: %d %s", code, body)
	}

	// Satellite: 1-legged OAuth 1 as hammer does it.
	oc := oauth1.NewConfig("katello", c.consumerSecret)
	octx := context.WithValue(context.Background(), oauth1.HTTPClient, hc)
	signed := oc.Client(octx, oauth1.NewToken("", ""))
	req, _ = http.NewRequest("GET", s.base+"/api/architectures", nil)
	req.Header.Set("FOREMAN-USER", "admin")
	if code, body := getStatus(t, signed, req); code != 200 || !strings.Contains(body, "x86_64") {
		t.Errorf("OAuth 1: %d %s", code, body)
	}

	// Flocker: the demo's client certificate; without one, 401.
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, "demo", "alice.crt"), filepath.Join(data, "demo", "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", s.base+"/v1/configuration/containers", nil)
	if code, body := getStatus(t, caClient(t, data, cert), req); code != 200 {
		t.Errorf("client certificate: %d %s", code, body)
	}
	req, _ = http.NewRequest("GET", s.base+"/v1/configuration/containers", nil)
	if code, _ := getStatus(t, hc, req); code != 401 {
		t.Errorf("no client certificate: %d, want 401", code)
	}

	// The CLI while the server runs: a new user, a PAT, a new client
	// certificate, a revocation and a disabled user take effect at once.
	cli(t, data, "bob-password-1\n", "user", "add", "bob", "--password-stdin", "--group", "ops")
	pat := strings.TrimSpace(cli(t, data, "", "token", "create", "bob", "--name", "ci", "--days", "30"))
	basicGet := func(user, pw, path string) int {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.SetBasicAuth(user, pw)
		code, _ := getStatus(t, hc, req)
		return code
	}
	if code := basicGet("bob", "bob-password-1", "/api/status"); code != 200 {
		t.Errorf("new user: %d", code)
	}
	if code := basicGet("bob", pat, "/api/status"); code != 200 {
		t.Errorf("new PAT: %d", code)
	}
	list := cli(t, data, "", "token", "list", "bob")
	id := regexp.MustCompile(`(?m)^(\S+)\s+pat\s+ci\s`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("token list:\n%s", list)
	}
	cli(t, data, "", "token", "revoke", id[1])
	if code := basicGet("bob", pat, "/api/status"); code != 401 {
		t.Errorf("revoked PAT: %d, want 401", code)
	}
	// A deny rule ahead of the demo's allow: 403 for group ops on Satellite.
	cli(t, data, "", "policy", "add", "--priority", "0.5", "--subject", "group:ops", "--rule", "deny", "--path", "/api/**")
	if code := basicGet("bob", "bob-password-1", "/api/status"); code != 403 {
		t.Errorf("denied by policy: %d, want 403", code)
	}
	cli(t, data, "", "policy", "rm", "0.5")
	cli(t, data, "", "user", "disable", "bob")
	if code := basicGet("bob", "bob-password-1", "/api/status"); code != 401 {
		t.Errorf("disabled user: %d, want 401", code)
	}

	// Foreman's PAT API: create, list, revoke; only for oneself.
	do := func(method, path, user, pw, body string) (int, string) {
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.SetBasicAuth(user, pw)
		req.Header.Set("Content-Type", "application/json")
		return getStatus(t, hc, req)
	}
	code, body := do("POST", "/api/users/admin/personal_access_tokens", "admin", c.satPW, `{"personal_access_token":{"name":"api-made","expires_at":"2099-01-01"}}`)
	var made struct{ ID, Token string }
	var created map[string]any
	_ = json.Unmarshal([]byte(body), &created)
	made.ID, _ = created["id"].(string)
	made.Token, _ = created["token_value"].(string)
	if code != 201 || made.ID == "" || !strings.HasPrefix(made.Token, "gate_pat_") || created["expires_at"] != "2099-01-01T00:00:00Z" {
		t.Fatalf("PAT create: %d %s", code, body)
	}
	if code, body := do("POST", "/api/users/admin/personal_access_tokens", "admin", c.satPW, `{"personal_access_token":{"name":"api-made"}}`); code != 422 {
		t.Errorf("duplicate PAT name: %d %s", code, body)
	}
	for _, bad := range []string{`{"personal_access_token":{"name":"bad\u0001name"}}`, `{"personal_access_token":{"name":"x","expires_at":"yesterday"}}`, `{"personal_access_token":{"name":"` + strings.Repeat("n", 300) + `"}}`, `not json`} {
		if code, body := do("POST", "/api/users/admin/personal_access_tokens", "admin", c.satPW, bad); code < 400 || code > 499 {
			t.Errorf("PAT create with %.40s: %d %s", bad, code, body)
		}
	}
	if code, body := do("GET", "/api/users/admin/personal_access_tokens", "admin", made.Token, ""); code != 200 || !strings.Contains(body, `"api-made"`) || strings.Contains(body, "gate_pat_") {
		t.Errorf("PAT list (never the secrets): %d %s", code, body)
	}
	if code, _ := do("GET", "/api/users/wsuser/personal_access_tokens", "admin", c.satPW, ""); code != 403 {
		t.Errorf("another user's PATs: %d, want 403", code)
	}
	if code, body := do("DELETE", "/api/users/admin/personal_access_tokens/"+made.ID, "admin", c.satPW, ""); code != 200 {
		t.Errorf("PAT revoke: %d %s", code, body)
	}
	if code, _ := do("GET", "/api/status", "admin", made.Token, ""); code != 401 {
		t.Errorf("revoked PAT: %d, want 401", code)
	}
	// A strict consumer (added while the server runs) needs the user signed.
	strictSecret := "strict-secret-0123456789"
	cli(t, data, strictSecret+"\n", "oauth1", "consumer", "add", "ci-strict", "--strict")
	for _, c := range []struct {
		signed bool
		want   int
	}{{false, 401}, {true, 200}} {
		args := []string{"oauth1", "sign", "GET", s.base + "/api/status", "--consumer", "ci-strict", "--user", "admin"}
		if c.signed {
			args = append(args, "--signed")
		}
		out, errOut, code := cliStatus(t, data, strictSecret+"\n", args...)
		if code != 0 {
			t.Fatalf("sign: %s", errOut)
		}
		target := s.base + "/api/status"
		if c.signed {
			_, target, _ = strings.Cut(strings.TrimSpace(errOut), "signed URL: ")
		}
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", strings.TrimPrefix(strings.TrimSpace(out), "Authorization: "))
		req.Header.Set("FOREMAN-USER", "admin")
		if code, body := getStatus(t, hc, req); code != c.want {
			t.Errorf("strict consumer, user signed %v: %d, want %d: %s", c.signed, code, c.want, body)
		}
	}

	// HEAD on oVirt's API is GET without the body.
	req, _ = http.NewRequest("HEAD", s.base+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", c.ovirtPW)
	if code, _ := getStatus(t, hc, req); code != 200 {
		t.Errorf("HEAD /ovirt-engine/api: %d", code)
	}

	outDir := t.TempDir()
	cli(t, data, "", "user", "add", "carol")
	out := cli(t, data, "", "ca", "issue-client", "carol", "--out", outDir)
	serial := regexp.MustCompile(`serial (\S+)\)`).FindStringSubmatch(out)
	if serial == nil {
		t.Fatalf("issue-client printed %q", out)
	}
	carol, err := tls.LoadX509KeyPair(filepath.Join(outDir, "carol.crt"), filepath.Join(outDir, "carol.key"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", s.base+"/v1/configuration/containers", nil)
	if code, _ := getStatus(t, caClient(t, data, carol), req); code != 200 {
		t.Errorf("new client certificate: %d", code)
	}
	cli(t, data, "", "ca", "revoke", serial[1])
	req, _ = http.NewRequest("GET", s.base+"/v1/configuration/containers", nil)
	if code, _ := getStatus(t, caClient(t, data, carol), req); code != 401 {
		t.Errorf("revoked client certificate: %d, want 401", code)
	}
}

// TestServeRefusesEmptyPolicy: without --demo and without rules the server
// does not start (no silent deny-all) and says why.
func TestServeRefusesEmptyPolicy(t *testing.T) {
	data := t.TempDir()
	cli(t, data, "pw-123456\n", "user", "add", "alice", "--password-stdin")
	_, errOut, code := cliStatus(t, data, "", "serve", "--addr", "127.0.0.1:0", "--http-addr", "")
	if code != 1 || !strings.Contains(errOut, "policy table is empty") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestServePostgresRedisInsecure runs the server on PostgreSQL (--db) with
// sessions, nonces and counters in Redis (--redis), and with
// --allow-insecure serving the API on plain HTTP: Basic, a persistent-auth
// session and OAuth 1 (its replay refused) work there, and the session and
// nonce live in Redis.
func TestServePostgresRedisInsecure(t *testing.T) {
	dsn, redisAddr := testservers.PostgresDSN(t), testservers.RedisAddr(t)
	data := t.TempDir()
	db := []string{"--db", dsn}
	cli(t, data, "pg-password-1\n", append([]string{"user", "add", "admin@internal", "--password-stdin"}, db...)...)
	cli(t, data, "", append([]string{"policy", "add", "--priority", "1", "--subject", "*", "--rule", "allow"}, db...)...)
	secret := "consumer-secret-0123456789"
	cli(t, data, secret+"\n", append([]string{"oauth1", "consumer", "add", "katello"}, db...)...)
	s := startServer(t, data, "--db", dsn, "--redis", redisAddr, "--allow-insecure", "--http-addr", "127.0.0.1:0")
	if s.plain == "" {
		t.Fatalf("no plain-HTTP listener announced:\n%s", strings.Join(s.lines, "\n"))
	}
	if _, err := os.Stat(filepath.Join(data, "gatehouse.db")); err == nil {
		t.Errorf("--db given, but an SQLite database was made in the data directory")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", s.plain+"/api/status", nil)
	req.SetBasicAuth("admin@internal", "pg-password-1")
	if code, body := getStatus(t, hc, req); code != 200 {
		t.Errorf("Basic over plain HTTP with --allow-insecure: %d %s", code, body)
	}

	jar, _ := cookiejar.New(nil)
	jc := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	req, _ = http.NewRequest("GET", s.plain+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", "pg-password-1")
	req.Header.Set("Prefer", "persistent-auth")
	if code, body := getStatus(t, jc, req); code != 200 {
		t.Fatalf("persistent-auth login: %d %s", code, body)
	}
	req, _ = http.NewRequest("GET", s.plain+"/ovirt-engine/api", nil)
	req.Header.Set("Prefer", "persistent-auth")
	if code, body := getStatus(t, jc, req); code != 200 {
		t.Errorf("persistent-auth cookie: %d %s", code, body)
	}

	header := strings.TrimPrefix(strings.TrimSpace(cli(t, data, secret+"\n", "oauth1", "sign", "GET", s.plain+"/api/architectures", "--consumer", "katello")), "Authorization: ")
	for i, want := range []int{200, 401} { // the second is a replay
		req, _ = http.NewRequest("GET", s.plain+"/api/architectures", nil)
		req.Header.Set("Authorization", header)
		req.Header.Set("FOREMAN-USER", "admin@internal")
		if code, body := getStatus(t, hc, req); code != want {
			t.Errorf("OAuth 1 request %d: %d, want %d: %s", i+1, code, want, body)
		}
	}

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "gatehouse:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var sessions, nonces int
	for _, k := range keys {
		switch {
		case strings.Contains(k, "session"):
			sessions++
		case strings.Contains(k, "nonce"):
			nonces++
		}
	}
	if sessions == 0 || nonces == 0 {
		t.Errorf("Redis holds %d session and %d nonce keys (want both > 0): %v", sessions, nonces, keys)
	}
}

// TestCAIssueServer: ca init, then a server certificate for the given names.
func TestCAIssueServer(t *testing.T) {
	data := t.TempDir()
	cli(t, data, "", "ca", "init", "--cluster-id", "c0ffee00-0000-4000-8000-000000000001")
	if _, errOut, code := cliStatus(t, data, "", "ca", "init"); code != 1 || !strings.Contains(errOut, "a CA exists") {
		t.Errorf("second ca init: exit %d %q", code, errOut)
	}
	cli(t, data, "", "ca", "issue-server", "api.example.test", "10.0.0.7")
	cli(t, data, "", "ca", "issue-server", "api2.example.test")
	pair, err := tls.LoadX509KeyPair(filepath.Join(data, "server.crt"), filepath.Join(data, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(pair.Certificate[0])
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "api2.example.test" {
		t.Errorf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
	}
	if _, err := os.Stat(filepath.Join(data, "server.crt.old")); err != nil {
		t.Errorf("the old pair was not kept: %v", err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(data, "ca", "cluster.crt"))
	pool.AppendCertsFromPEM(caPEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "api2.example.test"}); err != nil {
		t.Errorf("server certificate does not verify against the CA: %v", err)
	}
}

// TestReadmeCurlLines runs every curl line of the scheme tour (and the CLI
// lines of the server's guide) against `serve --demo`, with the variables
// of the demo's env.sh, so that the documentation cannot drift: the lines
// of README.md and of docs/*.md (see docCommandLines). Only the host
// differs: the server listens on free ports, and "go run ./cmd/gatehouse"
// is the binary built for these tests.
func TestReadmeCurlLines(t *testing.T) {
	readmeCurlLines(t, nil)
}

// docLine is a command line of the documentation and the file it is in.
type docLine struct{ file, line string }

// docCommandLines are the curl and openssl lines (curl) and the lines that
// run the CLI other than serve and import (cli) in the ```sh blocks of
// README.md, from its "## The two commands" on (the quick start above it
// talks to its own program), and of every docs/*.md: README.md, the scheme
// tour and the server's guide first, in the order they were written (the
// token lines set TOKEN and ACCESS_TOKEN for the lines after them), then
// the other files.
func docCommandLines(t *testing.T) (curl, cli []docLine) {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"../../README.md", "../../docs/schemes.md", "../../docs/operations.md"}
	for _, f := range files { // sorted by Glob
		if !slices.Contains(paths, f) {
			paths = append(paths, f)
		}
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text, file := string(b), strings.TrimPrefix(path, "../../")
		if file == "README.md" {
			start := strings.Index(text, "## The two commands")
			if start < 0 {
				t.Fatal(`README.md has no "## The two commands"`)
			}
			text = text[start:]
		}
		for _, block := range strings.Split(text, "```sh\n")[1:] {
			block, _, _ = strings.Cut(block, "```")
			for _, line := range strings.Split(block, "\n") {
				switch {
				case strings.HasPrefix(line, "curl ") || strings.HasPrefix(line, "openssl "):
					curl = append(curl, docLine{file, line})
				case strings.Contains(line, "go run ./cmd/gatehouse ") && !strings.Contains(line, " serve") && !strings.Contains(line, " import "):
					cli = append(cli, docLine{file, line})
				}
			}
		}
	}
	return curl, cli
}

// readmeCurlLines runs the documentation's curl and CLI lines
// (docCommandLines) against `serve --demo` on the stores env names
// (GATEHOUSE_DB, GATEHOUSE_REDIS; none = SQLite alone), for the server and
// every CLI line alike.
func readmeCurlLines(t *testing.T, storeEnv map[string]string) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	curlLines, cliLines := docCommandLines(t)
	if len(curlLines) < 15 || len(cliLines) < 4 {
		t.Fatalf("found %d curl and %d CLI lines in README.md and docs/", len(curlLines), len(cliLines))
	}
	t.Logf("%d curl and %d CLI lines from README.md and docs/", len(curlLines), len(cliLines))

	data, work := t.TempDir(), t.TempDir()
	args := []string{"--demo", "--http-addr", "127.0.0.1:0", "--forward-auth"}
	if v := storeEnv["GATEHOUSE_DB"]; v != "" {
		args = append(args, "--db", v)
	}
	if v := storeEnv["GATEHOUSE_REDIS"]; v != "" {
		args = append(args, "--redis", v)
	}
	s := startServer(t, data, args...)
	if s.plain == "" {
		t.Fatal("no plain-HTTP listener")
	}
	envFile := filepath.Join(data, "demo", "env.sh")
	vars := map[string]string{}
	for k, v := range storeEnv {
		vars[k] = v
	}
	shell := func(line string) (string, error) {
		line = strings.ReplaceAll(line, "go run ./cmd/gatehouse", binary)
		line = strings.ReplaceAll(line, "http://127.0.0.1:8080", s.plain)
		prefix := ". " + envFile + "; export GATEHOUSE_DATA=" + data
		for k, v := range vars {
			prefix += " " + k + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'"
		}
		cmd := exec.Command("sh", "-c", prefix+"; "+line)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, l := range curlLines {
		line := l.line
		run := line
		if strings.HasPrefix(line, "curl ") {
			run = "curl --fail -sS " + strings.TrimPrefix(line, "curl ")
		}
		out, err := shell(run)
		if err != nil {
			t.Fatalf("%s: %s\n→ %v\n%s\nserver: %s", l.file, line, err, out, s.stderr)
		}
		var body map[string]any
		_ = json.Unmarshal([]byte(out), &body)
		if tok, ok := body["token"].(map[string]any); ok {
			vars["TOKEN"], _ = tok["id"].(string)
		}
		if at, ok := body["access_token"].(string); ok {
			vars["ACCESS_TOKEN"] = at
		}
		if want := strings.TrimSpace(afterComment(line, "subject=")); want != "" && !strings.Contains(out, "CN = user-alice") {
			t.Errorf("%s: %s printed %q", l.file, line, out)
		}
	}
	if vars["TOKEN"] == "" || vars["ACCESS_TOKEN"] == "" {
		t.Errorf("the docs' token lines returned no token: %v", vars)
	}
	for _, l := range cliLines {
		if out, err := shell(l.line); err != nil {
			t.Errorf("%s: %s\n→ %v\n%s", l.file, l.line, err, out)
		}
	}
	// The docs' own new user can log in under the policy they added.
	req, _ := http.NewRequest("GET", s.base+"/api/status", nil)
	req.SetBasicAuth("bob", "s3cret-pw")
	if code, body := getStatus(t, caClient(t, data), req); code != 200 {
		t.Errorf("the docs' bob: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(work, "certs", "bob.crt")); err != nil {
		t.Errorf("the docs' ca issue-client line wrote nothing: %v", err)
	}
}

// afterComment returns what follows marker in line's trailing comment.
func afterComment(line, marker string) string {
	_, comment, ok := strings.Cut(line, "   # ")
	if !ok {
		return ""
	}
	_, after, _ := strings.Cut(comment, marker)
	return after
}

// TestServePlainHTTPRedirects: the plain-HTTP listener redirects API
// requests to HTTPS without the credentials in the query, and serves the
// CA downloads itself.
func TestServePlainHTTPRedirects(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--http-addr", "127.0.0.1:0")
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.plain + "/xcatws/nodes?userName=wsuser&userPW=secret&format=json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://") || strings.Contains(loc, "secret") {
		t.Errorf("plain HTTP: %d Location %q", resp.StatusCode, loc)
	}
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
		for _, base := range []string{s.plain, s.base} {
			c := hc
			if base == s.base {
				c = caClient(t, data)
			}
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
				t.Errorf("%s%s: %d %s", base, path, resp.StatusCode, b)
			}
		}
	}
	for _, path := range []string{"/install/postscripts/ca/ca-cert.pem", "/ca.crt", "/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA"} {
		resp, err := hc.Get(s.plain + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
			t.Errorf("%s over plain HTTP: %d", path, resp.StatusCode)
		}
	}
}

// TestServeReadyzFollowsTheStore: /readyz answers 503 with Retry-After
// while Redis is down and 200 once it is back; /healthz stays 200.
func TestServeReadyzFollowsTheStore(t *testing.T) {
	r := testservers.StartRedis(t, false)
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--redis", r.Addr)
	c := caClient(t, data)
	get := func(path string) (int, string) {
		resp, err := c.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz with Redis up: %d", code)
	}
	r.Stop()
	if code, retry := get("/readyz"); code != 503 || retry == "" {
		t.Errorf("readyz with Redis down: %d, Retry-After %q", code, retry)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz with Redis down: %d", code)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get("/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d 10 s after Redis came back", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeMetrics: with --metrics-addr, decisions, throttling, token
// issuance and active sessions are exported; after 300 requests from
// distinct user names, passwords and tokens no label value carries any of
// them and the series stay few.
func TestServeMetrics(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--metrics-addr", "127.0.0.1:0")
	metricsURL := s.metricsURL(t)
	c := s.creds(t)
	hc := caClient(t, data)
	send := func(r *http.Request) {
		resp, err := hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r, _ := http.NewRequest("GET", s.base+"/api/status", nil)
	r.SetBasicAuth("admin", c.satPW)
	send(r)
	tr, _ := http.NewRequest("POST", s.base+"/xcatws/tokens", strings.NewReader(`{"userName":"wsuser","userPW":"`+c.xcatPW+`"}`))
	tr.Header.Set("Content-Type", "application/json")
	send(tr)
	sr, _ := http.NewRequest("GET", s.base+"/ovirt-engine/api", nil)
	sr.SetBasicAuth("admin@internal", c.ovirtPW)
	sr.Header.Set("Prefer", "persistent-auth")
	send(sr)
	// Then the attack: the address is throttled after a few dozen failures.
	for i := range 100 {
		user := fmt.Sprintf("attacker-%d", i)
		r, _ := http.NewRequest("GET", s.base+"/api/status", nil)
		r.SetBasicAuth(user, "secret-"+user)
		send(r)
		r, _ = http.NewRequest("GET", s.base+"/xcatws/nodes", nil)
		r.Header.Set("X-Auth-Token", fmt.Sprintf("gate_at_bogus%040d", i))
		send(r)
		r, _ = http.NewRequest("GET", s.base+"/ovirt-engine/api", nil)
		r.SetBasicAuth("admin@internal", fmt.Sprintf("wrong-%d", i)) // throttled after a few
		send(r)
	}

	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	if testing.Verbose() {
		t.Log(text)
	}
	for _, want := range []string{
		`gatehouse_auth_decisions_total{face="satellite",outcome="allow",reason="",scheme="basic"} 1`,
		`gatehouse_auth_decisions_total{face="satellite",outcome="fail",reason="invalid",scheme="basic"}`,
		`gatehouse_auth_decisions_total{face="xcat",outcome="fail",reason="invalid",scheme="token"} 100`,
		`gatehouse_auth_decisions_total{face="ovirt",outcome="allow",reason="",scheme="basic"} 1`,
		`gatehouse_sessions_active 1`,
		`gatehouse_auth_throttled_total{face="ovirt"}`,
		`gatehouse_tokens_issued_total{face="xcat"} 1`,
		`gatehouse_auth_duration_seconds_bucket{face="xcat",outcome="fail",le=`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	series := 0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "gatehouse_") {
			continue
		}
		series++
		for _, leak := range []string{"attacker", "secret", "gate_at", "wrong-", "127.0.0.1", c.satPW, c.xcatPW} {
			if strings.Contains(line, leak) {
				t.Errorf("a label carries %q: %s", leak, line)
			}
		}
	}
	if series == 0 || series > 200 {
		t.Errorf("%d gatehouse series (want a bounded number > 0)", series)
	}
}

// TestServeAuditLogBatched: the audit log is written in batches — held in
// memory until the interval, written whole at shutdown before "stopped" —
// and with --log-flush 0 line by line.
func TestServeAuditLogBatched(t *testing.T) {
	request := func(s *server, data string, c demoCreds) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+"/xcatws/nodes", nil)
		req.SetBasicAuth("wsuser", c.xcatPW)
		if code, _ := getStatus(t, caClient(t, data), req); code != 200 {
			t.Fatalf("xCAT Basic: %d", code)
		}
	}
	const allowed = "outcome=allow scheme=basic user=wsuser"

	data := t.TempDir()
	s := startServer(t, data, "--demo", "--log-flush", "1h")
	request(s, data, s.creds(t))
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(s.stderr.String(), allowed) {
		t.Fatalf("with --log-flush 1h the line was written before shutdown:\n%s", s.stderr)
	}
	s.stop(t)
	out := s.stderr.String()
	line, stopped := strings.Index(out, allowed), strings.Index(out, "gatehouse: stopped")
	if line < 0 || stopped < 0 || line > stopped {
		t.Fatalf("shutdown did not write the held line before \"stopped\":\n%s", out)
	}

	// Unbatched: written before the response goes out (logbuf's
	// TestNoInterval checks that); here it only crosses the pipe to this
	// test, whose copying goroutine may lag, so wait for it a little.
	data = t.TempDir()
	s = startServer(t, data, "--demo", "--log-flush", "0")
	request(s, data, s.creds(t))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.stderr.String(), allowed) {
		if time.Now().After(deadline) {
			t.Fatalf("with --log-flush 0 the line was never written:\n%s", s.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
