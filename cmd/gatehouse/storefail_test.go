package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testservers"
)

// Fault (failed before the fix: 422 {"error":{"message":"token: storing:
// database or disk is full (13)"}}): with the database unwritable, every
// write endpoint of the reference server answers 503 with Retry-After and
// none of the store's words; once it is writable again they work.
func TestServeStoreFailureAnswers503(t *testing.T) {
	chattr, err := exec.LookPath("chattr")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") == "1" && err != nil {
			t.Fatalf("chattr is needed: %v", err)
		}
		t.Skip("needs root and chattr (permission bits do not stop root)")
	}
	data := t.TempDir()
	s := startServer(t, data, "--demo")
	c := s.creds(t)
	hc := caClient(t, data)
	do := func(method, path, body, ctype, user, pw string) (int, string, string) {
		return send(t, hc, newRequest(method, s.base+path, body, ctype, user, pw))
	}
	// Warm the password cache, so that the writes, not the logins, fail.
	for _, u := range [][2]string{{"admin", c.satPW}, {"wsuser", c.xcatPW}, {"admin@internal", c.ovirtPW}} {
		path := map[string]string{"admin": "/api/status", "wsuser": "/xcatws/nodes", "admin@internal": "/ovirt-engine/api"}[u[0]]
		if code, _, body := do("GET", path, "", "", u[0], u[1]); code != 200 {
			t.Fatalf("%s: %d %s", u[0], code, body)
		}
	}
	// A token to revoke while the store is unwritable, and an access token.
	code, _, body := do("POST", "/api/users/admin/personal_access_tokens", `{"personal_access_token":{"name":"to-revoke"}}`, "application/json", "admin", c.satPW)
	if code != 201 {
		t.Fatalf("PAT create: %d %s", code, body)
	}
	patID := jsonField(t, body, "id")
	code, _, body = do("POST", "/ovirt-engine/sso/oauth/token", url.Values{"grant_type": {"password"}, "scope": {"ovirt-app-api"},
		"username": {"admin@internal"}, "password": {c.ovirtPW}}.Encode(), "application/x-www-form-urlencoded", "", "")
	if code != 200 {
		t.Fatalf("token grant: %d %s", code, body)
	}
	access := jsonField(t, body, "access_token")
	db := filepath.Join(data, "gatehouse.db")
	lock := func(flag string) {
		for _, f := range []string{db, db + "-wal"} {
			if out, err := exec.Command(chattr, flag, f).CombinedOutput(); err != nil {
				t.Skipf("chattr %s not supported here: %v %s", flag, err, out)
			}
		}
	}
	lock("+i")
	locked := true
	defer func() {
		if locked {
			lock("-i")
		}
	}()
	writes := []struct {
		name                          string
		method, path, body, ctype, as string
		pw                            string
	}{
		{"PAT create", "POST", "/api/users/admin/personal_access_tokens", `{"personal_access_token":{"name":"full-disk"}}`, "application/json", "admin", c.satPW},
		{"xCAT token", "POST", "/xcatws/tokens", `{"userName":"wsuser","userPW":"` + c.xcatPW + `"}`, "application/json", "", ""},
		{"OAuth 2 grant", "POST", "/ovirt-engine/sso/oauth/token", url.Values{"grant_type": {"password"}, "scope": {"ovirt-app-api"},
			"username": {"admin@internal"}, "password": {c.ovirtPW}}.Encode(), "application/x-www-form-urlencoded", "", ""},
		{"PAT revoke", "DELETE", "/api/users/admin/personal_access_tokens/" + patID, "", "", "admin", c.satPW},
		{"OAuth 2 revoke", "POST", "/ovirt-engine/sso/oauth/revoke", url.Values{"token": {access}}.Encode(), "application/x-www-form-urlencoded", "", ""},
	}
	for _, w := range writes {
		code, retry, body := do(w.method, w.path, w.body, w.ctype, w.as, w.pw)
		if code != 503 || retry == "" {
			t.Errorf("%s with the store unwritable: %d (Retry-After %q) %s, want 503 with Retry-After", w.name, code, retry, body)
		}
		for _, words := range []string{"readonly", "read-only", "sqlite", "SQLITE", "storing", "database", "disk"} {
			if strings.Contains(body, words) {
				t.Errorf("%s: the store's words %q reached the client: %s", w.name, words, body)
			}
		}
	}
	// A persistent-auth login (the session is written) and an OAuth 1
	// request (the nonce is written).
	req := newRequest("GET", s.base+"/ovirt-engine/api", "", "", "admin@internal", c.ovirtPW)
	req.Header.Set("Prefer", "persistent-auth")
	if code, retry, body := send(t, hc, req); code >= 500 && retry == "" || strings.Contains(body, "readonly") || strings.Contains(body, "database") {
		t.Errorf("persistent-auth login with the store unwritable: %d %s", code, body)
	}
	lock("-i")
	locked = false
	// Connections opened read-only are recycled at the next failure (at
	// most once a second).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, _, body := do("POST", "/api/users/admin/personal_access_tokens", `{"personal_access_token":{"name":"after"}}`, "application/json", "admin", c.satPW)
		if code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PAT create 5 s after the store is writable again: %d %s", code, body)
		}
	}
}

// Fault (failed before the fix: exit 1 after 2 s, every face down): serve
// started while Redis is down starts; /readyz says 503, the schemes that
// need no Redis work, the rest answer 503 with Retry-After, and everything
// works once Redis is started, without a restart.
func TestServeStartsWithRedisDown(t *testing.T) {
	r := testservers.StartRedis(t, false)
	r.Stop()
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--redis", r.Addr)
	c := s.creds(t)
	hc := caClient(t, data)
	status := func(req *http.Request) (int, string) {
		code, retry, _ := send(t, hc, req)
		return code, retry
	}
	get := func(path string) *http.Request { req, _ := http.NewRequest("GET", s.base+path, nil); return req }
	if code, retry := status(get("/readyz")); code != 503 || retry == "" {
		t.Errorf("readyz with Redis down: %d %q", code, retry)
	}
	// A token issued before needs no Redis to be checked.
	tokReq, _ := http.NewRequest("POST", s.base+"/xcatws/tokens", strings.NewReader(`{"userName":"wsuser","userPW":"`+c.xcatPW+`"}`))
	tokReq.Header.Set("Content-Type", "application/json")
	if code, _ := status(tokReq); code != 503 && code != 201 && code != 200 {
		t.Errorf("token issue with Redis down: %d", code)
	}
	session := func() (int, string) {
		req := get("/ovirt-engine/api")
		req.SetBasicAuth("admin@internal", c.ovirtPW)
		req.Header.Set("Prefer", "persistent-auth")
		return status(req)
	}
	if code, retry := session(); code != 503 || retry == "" {
		t.Errorf("a persistent-auth login with Redis down: %d %q, want 503 with Retry-After", code, retry)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready, _ := status(get("/readyz"))
		code, _ := session()
		if ready == 200 && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after Redis started: readyz %d, session login %d", ready, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Fault (failed before the fix: serve exited at once): serve started
// while PostgreSQL is down starts; /readyz says 503 naming the database,
// logins get 503 with Retry-After; once PostgreSQL answers the store is
// migrated and everything works, without a restart.
func TestServeStartsWithPostgresDown(t *testing.T) {
	pg := testservers.StartPostgres(t, 40)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	s := startServer(t, data, "--db", pg.DSN)
	hc := caClient(t, data)
	status := func(path, user, pw string) (int, string, string) {
		return send(t, hc, newRequest("GET", s.base+path, "", "", user, pw))
	}
	if code, retry, body := status("/readyz", "", ""); code != 503 || retry == "" || !strings.Contains(body, `"store":"database"`) {
		t.Errorf("readyz with PostgreSQL down: %d %q %s", code, retry, body)
	}
	if code, retry, body := status("/api/status", "admin", "pg-pw-123"); code != 503 || retry == "" {
		t.Errorf("a login with PostgreSQL down: %d %q %s, want 503 with Retry-After", code, retry, body)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	// The CLI on the same database, once it is up.
	cli(t, data, "pg-pw-123\n", "--db", pg.DSN, "user", "add", "admin", "--password-stdin")
	cli(t, data, "", "--db", pg.DSN, "policy", "add", "--priority", "1", "--subject", "*", "--rule", "allow")
	deadline := time.Now().Add(15 * time.Second)
	for {
		ready, _, _ := status("/readyz", "", "")
		code, _, body := status("/api/status", "admin", "pg-pw-123")
		if ready == 200 && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after PostgreSQL started: readyz %d, login %d %s\n%s", ready, code, body, s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newRequest is a request with an optional body (of type ctype) and Basic
// credentials (when user is set).
func newRequest(method, url, body, ctype, user, pw string) *http.Request {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	return req
}

// send makes req with hc and returns the status, Retry-After and body.
func send(t *testing.T, hc *http.Client, req *http.Request) (int, string, string) {
	t.Helper()
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Retry-After"), string(b)
}
