package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testservers"
)

// TestReplicasAgree: two `serve` replicas over one PostgreSQL and one
// Redis. What one replica or the CLI changes holds on the other within a
// second (issue 35's bound): a token issued on A works on B at once; a
// revoked PAT, a disabled user, a changed password and a new deny rule are
// refused on B; the throttle counts a login's failures on both together.
// (A signed OAuth 1 request used on one replica and replayed to another is
// TestHighAvailability's: both must see the same URL, the balancer's.)
func TestReplicasAgree(t *testing.T) {
	pg := testservers.StartPostgres(t, 100)
	rd := testservers.StartRedis(t, true)
	t.Setenv("GATEHOUSE_DB", pg.DSN) // for the CLI verbs below, as for serve
	t.Setenv("GATEHOUSE_REDIS", rd.Addr)
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startServer(t, dataA, "--demo")
	c := a.creds(t)
	if out, err := exec.Command("cp", "-a", dataA+"/.", dataB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	b := startServer(t, dataB)
	client := caClient(t, dataA)
	do := func(s *server, method, path string, header ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	basic := func(user, pw string) []string {
		return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}
	}
	// within waits until B answers want, at most a second, and says how
	// long it took.
	within := func(what string, want int, s *server, path string, header ...string) {
		t.Helper()
		start := time.Now()
		for {
			got := do(s, "GET", path, header...)
			if got == want {
				t.Logf("%s: on the other replica after %s", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Errorf("%s: the other replica still answers %d after a second (want %d)", what, got, want)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A token issued on A, on B.
	req, _ := http.NewRequest("POST", a.base+"/xcatws/tokens", strings.NewReader(`{"userName":"wsuser","userPW":"`+c.xcatPW+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := jsonField(t, string(raw), "token", "id")
	if got := do(b, "GET", "/xcatws/nodes", "X-Auth-Token", tok); got != 200 {
		t.Errorf("a token issued on A, on B at once: %d", got)
	}

	// A PAT made and revoked with the CLI.
	pat := strings.TrimSpace(cli(t, dataA, "", "token", "create", "admin", "--name", "agree"))
	pat = pat[strings.LastIndex(pat, " ")+1:]
	if got := do(b, "GET", "/api/status", basic("admin", pat)...); got != 200 {
		t.Fatalf("a new PAT on B: %d", got)
	}
	cli(t, dataA, "", "token", "revoke", pat) // the secret names it as well as its id
	within("a revoked PAT", 401, b, "/api/status", basic("admin", pat)...)

	// A disabled user, whose password B has cached.
	if got := do(b, "GET", "/xcatws/nodes", basic("wsuser", c.xcatPW)...); got != 200 {
		t.Fatalf("wsuser on B: %d", got)
	}
	cli(t, dataA, "", "user", "disable", "wsuser")
	within("a disabled user", 401, b, "/xcatws/nodes", basic("wsuser", c.xcatPW)...)
	cli(t, dataA, "", "user", "enable", "wsuser")
	within("the user enabled again", 200, b, "/xcatws/nodes", basic("wsuser", c.xcatPW)...)

	// A password change.
	cli(t, dataA, "new-password-1\n", "user", "passwd", "wsuser", "--password-stdin")
	within("the old password after a change", 401, b, "/xcatws/nodes", basic("wsuser", c.xcatPW)...)
	within("the new password", 200, b, "/xcatws/nodes", basic("wsuser", "new-password-1")...)

	// A new policy rule.
	cli(t, dataA, "", "policy", "add", "--priority", "0.5", "--subject", "wsuser", "--rule", "deny")
	within("a new deny rule", 403, b, "/xcatws/nodes", basic("wsuser", "new-password-1")...)

	// The throttle counts failures on both replicas together: 10 per
	// login and address.
	var codes []int
	for i := range 12 {
		s := a
		if i%2 == 1 {
			s = b
		}
		codes = append(codes, do(s, "GET", "/api/status", basic("nobody", "wrong")...))
	}
	if codes[10] != 429 || codes[11] != 429 || codes[9] != 401 {
		t.Errorf("wrong passwords alternating between the replicas: %v (want ten 401s, then 429)", codes)
	}
}
