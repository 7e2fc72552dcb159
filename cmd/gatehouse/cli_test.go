package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth/password"
)

// runIn runs one command line in-process and returns stdout, stderr and the
// exit status.
func runIn(data, stdin string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}
	code := run(e, append([]string{"--data", data}, args...))
	return out.String(), errOut.String(), code
}

func TestExitStatusAndHelp(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args  []string
		stdin string
		code  int
		err   string
	}{
		{nil, "", 2, "usage: gatehouse"},
		{[]string{"frobnicate"}, "", 2, `unknown command "frobnicate"`},
		{[]string{"user", "add"}, "", 2, "wrong number of arguments"},
		{[]string{"user", "add", "a", "b"}, "", 2, "wrong number of arguments"},
		{[]string{"user", "add", "a", "--bogus"}, "", 2, "flag provided but not defined"},
		{[]string{"user", "add", "-h"}, "", 0, "-password-stdin"},
		{[]string{"user", "add", "alice", "--password-stdin"}, "", 1, "password from standard input"},
		{[]string{"user", "passwd", "alice"}, "", 2, "--password-stdin"},
		{[]string{"user", "disable", "nobody"}, "", 1, "no user nobody"},
		{[]string{"policy", "add", "--priority", "x", "--subject", "*", "--rule", "allow"}, "", 2, "not a number"},
		{[]string{"policy", "add", "--priority", "1", "--subject", "*", "--rule", "disallow"}, "", 1, ""},
		{[]string{"policy", "rm", "7"}, "", 1, "no rule with priority 7"},
		{[]string{"token", "create", "alice"}, "", 2, "--name is required"},
		{[]string{"token", "create", "alice", "--name", "x", "--days", "1", "--expires", "2030-01-01T00:00:00Z"}, "", 2, "not both"},
		{[]string{"token", "revoke", "nope"}, "", 1, "no token with id nope"},
		{[]string{"ca", "issue-client", "bob"}, "", 1, "no CA in"},
		{[]string{"ca", "revoke", "zz:zz"}, "", 2, ""},
		{[]string{"user", "set-hash", "alice"}, "plaintext\n", 1, "not a supported password hash"},
		{[]string{"oauth1", "consumer", "add", "k"}, "short\n", 1, ""},
		{[]string{"oauth1", "sign", "GET", "not-a-url", "--consumer", "k"}, "", 2, "not an http(s) URL"},
		{[]string{"oauth1", "consumer", "add", "k", "--strict", "--as-admin"}, "consumer-secret-0123456789\n", 2, "one of --map-users, --strict, --as-admin"},
		{[]string{"serve", "--log", "xml"}, "", 2, "--log must be text or json"},
		{[]string{"serve", "--log-flush", "-1s"}, "", 2, "--log-flush must not be negative"},
		{[]string{"serve", "--upstream", "ftp://x"}, "", 2, "--upstream must be an http"},
		{[]string{"serve", "--upstream-path-prefix", "/api/"}, "", 2, "needs --upstream"},
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--upstream-path-prefix", "api"}, "", 2, "must start with /"},
		{[]string{"serve", "--forward-auth", "--default-face", "xcat"}, "", 2, "--default-face must be"},
		{[]string{"serve", "--forward-auth", "--trusted-proxy", "10.0.0.0/33"}, "", 2, "not a CIDR"},
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--client-cert-header", "X-Client-Cert"}, "", 1, "needs --trusted-proxy"},
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--sign-key-file", "/nonexistent/key"}, "", 1, "no such file"},
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--user-header", "X Bad"}, "", 2, "non-empty tokens"},
	} {
		_, errOut, code := runIn(data, c.stdin, c.args...)
		if code != c.code || !strings.Contains(errOut, c.err) {
			t.Errorf("gatehouse %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut, c.code, c.err)
		}
	}
}

func TestUsersHashesAndConsumers(t *testing.T) {
	data := t.TempDir()
	if _, e, code := runIn(data, "s3cret-pw\n", "user", "add", "admin@internal", "--password-stdin", "--group", "ops"); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := runIn(data, "", "user", "add", "admin", "--domain", "internal"); code != 1 || !strings.Contains(e, "exists") {
		t.Errorf("re-adding: exit %d %q", code, e)
	}
	// A sha512-crypt line as /etc/shadow holds it (openssl passwd -6).
	shadow := "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"
	if _, e, code := runIn(data, shadow+"\n", "user", "set-hash", "admin@internal"); code != 0 {
		t.Fatalf("set-hash: %s", e)
	}
	out, _, _ := runIn(data, "", "user", "list")
	if !strings.Contains(out, "admin@internal") || !strings.Contains(out, "sha512-crypt") || strings.Contains(out, "saltsalt") {
		t.Errorf("user list shows no format, or the hash:\n%s", out)
	}
	out, _, code := runIn(data, "correct horse\n", "hash")
	if ok, err := password.Verify(strings.TrimSpace(out), "correct horse"); code != 0 || !ok || err != nil {
		t.Errorf("hash printed %q (exit %d): verify %v %v", out, code, ok, err)
	}
	secret := "consumer-secret-0123456789"
	if _, e, code := runIn(data, secret+"\n", "oauth1", "consumer", "add", "katello", "--user", "admin"); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := runIn(data, secret+"\n", "oauth1", "consumer", "add", "proxy", "--as-admin"); code != 0 || !strings.Contains(e, "act as the API administrator") {
		t.Errorf("--as-admin: exit %d, no warning: %q", code, e)
	}
	out, _, _ = runIn(data, "", "oauth1", "consumer", "list")
	if !strings.Contains(out, "katello") || !regexp.MustCompile(`(?m)^proxy\s+none\s`).MatchString(out) || strings.Contains(out, secret) {
		t.Errorf("consumer list:\n%s", out)
	}
	out, _, code = runIn(data, secret+"\n", "oauth1", "sign", "get", "https://sat.example/api/status", "--consumer", "katello")
	if code != 0 || !strings.HasPrefix(out, `Authorization: OAuth `) || !strings.Contains(out, `oauth_consumer_key="katello"`) || strings.Contains(out, secret) {
		t.Errorf("sign: %q", out)
	}
	if _, e, code := runIn(data, "client-secret\n", "oauth2", "client", "add", "ovirt-engine-sdk", "--secret-stdin", "--scope", "ovirt-app-api"); code != 0 {
		t.Fatal(e)
	}
}
