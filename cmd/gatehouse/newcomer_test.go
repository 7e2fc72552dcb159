package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNewcomersRoughEdges: what a new user tried and tripped over, each
// now an error in their words or a verb that does it.
func TestNewcomersRoughEdges(t *testing.T) {
	data := t.TempDir()
	run := func(stdin string, args ...string) (string, string, int) { return runIn(data, stdin, args...) }
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := run(stdin, args...)
		if code != 0 {
			t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	// A read-only verb on a directory without a store says so and makes
	// nothing; a verb that writes says it made a new store.
	empty := filepath.Join(t.TempDir(), "typo")
	if _, errOut, code := runIn(empty, "", "user", "list"); code != 1 || !strings.Contains(errOut, "no gatehouse store in") {
		t.Errorf("user list on a wrong --data: %d %q", code, errOut)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Error("user list created the directory it was wrongly given")
	}
	if _, errOut, _ := run("", "policy", "add", "--priority", "1", "--subject", "*", "--rule", "allow"); !strings.Contains(errOut, "created a new, empty store") {
		t.Errorf("the first write does not say it made a store: %q", errOut)
	}

	// A password piped without --password-stdin is not dropped silently.
	if _, errOut, code := run("pw-eve-123\n", "user", "add", "eve"); code != 2 || !strings.Contains(errOut, "--password-stdin") {
		t.Errorf("echo pw | user add eve: %d %q", code, errOut)
	}
	mustRun("pw-eve-123\n", "user", "add", "eve", "--password-stdin")
	if _, errOut, code := run("", "user", "add", "eve"); code != 1 || !strings.Contains(errOut, "exists already") {
		t.Errorf("adding eve twice: %d %q", code, errOut)
	}

	// A certificate for nobody is refused (it would only ever get 401).
	mustRun("", "ca", "init")
	if _, errOut, code := run("", "ca", "issue-client", "dave", "--out", t.TempDir()); code != 1 || !strings.Contains(errOut, "no user dave") {
		t.Errorf("ca issue-client for no user: %d %q", code, errOut)
	}
	mustRun("", "ca", "issue-client", "dave", "--no-user", "--out", t.TempDir())
	mustRun("", "ca", "issue-client", "eve", "--out", t.TempDir())
	if _, errOut, code := run("", "ca", "revoke", "zz"); code != 2 || !strings.Contains(errOut, "is not a certificate serial") || strings.Contains(errOut, "stores:") {
		t.Errorf("ca revoke zz: %d %q", code, errOut)
	}

	// Tokens: a taken name in words, the token itself revokes, --days 0.
	secret := strings.TrimSpace(mustRun("", "token", "create", "eve", "--name", "ci"))
	if _, errOut, code := run("", "token", "create", "eve", "--name", "ci"); code != 1 || !strings.Contains(errOut, `eve has a token named "ci" already`) || strings.Contains(errOut, "stores:") {
		t.Errorf("a taken token name: %d %q", code, errOut)
	}
	if out := mustRun("", "token", "revoke", secret); !strings.Contains(out, "revoked token") {
		t.Errorf("revoking by the token itself: %q", out)
	}
	if _, errOut, _ := run("", "token", "create", "-h"); !strings.Contains(errOut, "never expires") {
		t.Errorf("token create -h does not say what --days 0 means: %q", errOut)
	}

	// gatehouse user lists its commands; a verb's -h lists its own flags.
	if _, errOut, code := run("", "user"); code != 2 || !strings.Contains(errOut, "user add") || !strings.Contains(errOut, "user passwd") || strings.Contains(errOut, "policy add") {
		t.Errorf("gatehouse user: %d %q", code, errOut)
	}
	if _, errOut, _ := run("", "user", "add", "-h"); strings.Contains(errOut, "  -redis") || strings.Contains(errOut, "  -data") || !strings.Contains(errOut, "-password-stdin") {
		t.Errorf("user add -h: %q", errOut)
	}

	// The README's gateway line: a verb makes the key, 0600, never over an
	// old one; serve refuses a key others can read.
	key := filepath.Join(t.TempDir(), "identity.key")
	mustRun("", "gateway", "keygen", "--out", key)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(key); !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(b) {
		t.Errorf("key %q", b)
	}
	if _, errOut, code := run("", "gateway", "keygen", "--out", key); code != 1 || !strings.Contains(errOut, "exists already") {
		t.Errorf("keygen over a key: %d %q", code, errOut)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run("", "serve", "--upstream", "http://127.0.0.1:1", "--sign-key-file", key); code != 1 || !strings.Contains(errOut, "readable by others") {
		t.Errorf("serve with a 0644 key: %d %q", code, errOut)
	}

	// .gitignore covers what the README makes.
	gi, err := os.ReadFile("../../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/certs/", "identity.key", "/gatehouse-data/"} {
		if !strings.Contains(string(gi), p) {
			t.Errorf(".gitignore lacks %s", p)
		}
	}
}

// TestForwardAuthBanner: serve --forward-auth names its endpoints.
func TestForwardAuthBanner(t *testing.T) {
	s := startServer(t, t.TempDir(), "--demo", "--forward-auth", "--http-addr", "127.0.0.1:0")
	banner := strings.Join(s.lines, "\n")
	for _, p := range []string{"/auth/nginx", "/auth/traefik", "/auth/envoy", "/auth/verify"} {
		if !strings.Contains(banner, p) {
			t.Errorf("the banner does not name %s:\n%s", p, banner)
		}
	}
}
