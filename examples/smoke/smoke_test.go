package smoke

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// start builds ./examples/NAME, runs it with args plus -addr on a free
// port, and returns its printed lines once it listens.
func start(t *testing.T, name string, args ...string) (base string, lines []string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", bin, "../"+name).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if b, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			base = b
			if name != "satellite" || len(lines) > 1 {
				break
			}
		}
		if name == "satellite" && base != "" && strings.HasPrefix(sc.Text(), "personal access token") {
			break
		}
	}
	if base == "" {
		t.Fatalf("%s never said where it listens: %q", name, lines)
	}
	return base, lines
}

func insecure() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func expect200(t *testing.T, c *http.Client, r *http.Request) string {
	t.Helper()
	res, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", r.Method, r.URL.Path, res.StatusCode, b)
	}
	return string(b)
}

func TestXCAT(t *testing.T) {
	base, _ := start(t, "xcat")
	r, _ := http.NewRequest("GET", base+"/xcatws/nodes?userName=wsuser&userPW=cluster-secret", nil)
	if body := expect200(t, insecure(), r); !strings.Contains(body, "node01") {
		t.Errorf("body %q", body)
	}
}

func TestSatellite(t *testing.T) {
	base, lines := start(t, "satellite")
	pat := lines[len(lines)-1][strings.LastIndex(lines[len(lines)-1], " ")+1:]
	r, _ := http.NewRequest("GET", base+"/api/status", nil)
	r.SetBasicAuth("admin", pat)
	expect200(t, insecure(), r)
}

func TestOVirt(t *testing.T) {
	base, _ := start(t, "ovirt")
	c := insecure()
	res, err := c.PostForm(base+"/ovirt-engine/sso/oauth/token", url.Values{"grant_type": {"password"}, "scope": {"ovirt-app-api"},
		"username": {"admin@internal"}, "password": {"ovirt-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	r, _ := http.NewRequest("GET", base+"/ovirt-engine/api", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	expect200(t, c, r)
}

func TestFlocker(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	base, _ := start(t, "flocker", "-certs", dir)
	pem, err := os.ReadFile(filepath.Join(dir, "cluster.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "alice.crt"), filepath.Join(dir, "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
	r, _ := http.NewRequest("GET", base+"/v1/configuration/containers", nil)
	expect200(t, c, r)
}

func TestServeMuxPolicies(t *testing.T) {
	base, _ := start(t, "servemux")
	c := insecure()
	for _, tc := range []struct {
		method, user, pw string
		want             int
	}{
		{"GET", "viewer", "viewer-pw", 200},
		{"DELETE", "viewer", "viewer-pw", 403},
		{"DELETE", "root", "root-pw", 200},
		{"GET", "viewer", "wrong", 401},
	} {
		r, _ := http.NewRequest(tc.method, base+"/api/hosts/7", nil)
		r.SetBasicAuth(tc.user, tc.pw)
		res, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s as %s: %d, want %d", tc.method, tc.user, res.StatusCode, tc.want)
		}
	}
}

func TestProxyStripsCredentials(t *testing.T) {
	got := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		io.WriteString(w, "upstream")
	}))
	defer up.Close()
	base, _ := start(t, "proxy", "-upstream", up.URL)
	r, _ := http.NewRequest("GET", base+"/api/status", nil)
	r.SetBasicAuth("admin", "satellite-pw")
	r.Header.Set("X-Gatehouse-User", "root") // spoofed
	if body := expect200(t, insecure(), r); body != "upstream" {
		t.Errorf("body %q", body)
	}
	h := <-got
	if h.Get("Authorization") != "" || h.Get("X-Gatehouse-User") != "admin" || h.Get("X-Gatehouse-Scheme") != "basic" {
		t.Errorf("upstream saw %v", h)
	}
}
