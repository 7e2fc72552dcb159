package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChiExample builds the example, starts it on a free port and sends
// it authenticated requests: Basic, the printed PAT, a group policy.
func TestChiExample(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "chi")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	var base, pat string
	for pat == "" && sc.Scan() {
		if b, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			base = b
		}
		if p, ok := strings.CutPrefix(sc.Text(), "personal access token of viewer: "); ok {
			pat = p
		}
	}
	if base == "" || pat == "" {
		t.Fatal("the example did not print its address and PAT")
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, tc := range []struct {
		method, path, user, pw string
		status                 int
		body                   string
	}{
		{"GET", "/healthz", "", "", 200, "ok"},
		{"GET", "/api/hosts/7", "", "", 401, ""},
		{"GET", "/api/hosts/7", "viewer", "viewer-pw", 200, `"user":"viewer"`},
		{"GET", "/api/hosts/7", "viewer", pat, 200, `"user":"viewer"`},
		{"GET", "/api/hosts/7", "viewer", "wrong", 401, ""},
		{"DELETE", "/admin/hosts/7", "viewer", "viewer-pw", 403, ""},
		{"DELETE", "/admin/hosts/7", "root", "root-pw", 200, `"by":"root"`},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pw)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s %s as %q: %d %s", tc.method, tc.path, tc.user, res.StatusCode, b)
		}
	}
}
