package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/oauth1"
)

// TestHighAvailability runs docs/deploy/haproxy.cfg in front of three
// `serve` replicas over a PostgreSQL primary with a synchronous streaming
// replica and Redis behind three Sentinels, all Debian's packages on
// loopback, with clients of every scheme sending all along. One after the
// other: a replica killed (SIGKILL) and started again, the PostgreSQL
// primary stopped and its replica promoted, the Redis master killed, and
// every replica restarted in turn (SIGTERM: drain, then stop). For each
// step it reports requests sent, failed, 503s with Retry-After, 500s and
// the seconds until every scheme answers again, and checks issue 35's
// targets; afterwards every token issued during the run still works and
// no signed OAuth 1 request is accepted twice.
func TestHighAvailability(t *testing.T) {
	haproxy := requireTool(t, "haproxy", "/usr/sbin/haproxy")
	pair := testservers.StartPostgresPair(t, true)
	sentinels := testservers.StartRedisSentinels(t)

	var addrs [3]string
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	dirs := [3]string{t.TempDir(), t.TempDir(), t.TempDir()}
	args := func(i int) []string {
		return []string{"--db", pair.DSN, "--redis", sentinels.URL(), "--addr", addrs[i], "--drain", "2s", "--proxy-protocol", "127.0.0.1/32"}
	}
	var servers [3]*server
	servers[0] = startServer(t, dirs[0], append([]string{"--demo"}, args(0)...)...)
	c := servers[0].creds(t)
	for i := 1; i < 3; i++ { // the same CA, server certificate and token key on every replica
		if out, err := exec.Command("cp", "-a", dirs[0]+"/.", dirs[i]).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		servers[i] = startServer(t, dirs[i], args(i)...)
	}
	lb := freeAddr(t)
	conf := renderDeployConfig(t, "haproxy.cfg", map[string]string{"@BIND@": lb, "@CA@": filepath.Join(dirs[0], "ca", "cluster.crt"),
		"@GH1@": addrs[0], "@GH2@": addrs[1], "@GH3@": addrs[2]})
	runProxy(t, lb, haproxy, "-db", "-f", conf)
	base := "https://" + lb
	time.Sleep(1500 * time.Millisecond) // the health checks' rise

	load := startHALoad(t, base, dirs[0], c)
	defer load.stop()
	time.Sleep(2 * time.Second)
	baseline := load.phase()
	if baseline.failed > 0 {
		t.Fatalf("failures before any fault: %+v", baseline)
	}

	var report strings.Builder
	fmt.Fprintf(&report, "| step | requests | failed | 503 with Retry-After | 500 | seconds until every scheme answers | OAuth 1 replays accepted |\n|---|---:|---:|---:|---:|---:|---:|\n")
	step := func(name string, fault func()) haResult {
		load.phase() // what came before is not this step's
		start := time.Now()
		fault()
		load.waitAllAnswer(t, start, 60*time.Second)
		time.Sleep(time.Second)
		r := load.phase()
		r.recovery = load.recoveredAfter(start)
		r.replays = load.replays(t)
		fmt.Fprintf(&report, "| %s | %d | %d | %d | %d | %.1f | %d |\n", name, r.sent, r.failed, r.unavailable, r.internal, r.recovery.Seconds(), r.replays)
		load.mu.Lock()
		if len(load.errs) > 0 {
			t.Logf("%s: connection errors %v", name, load.errs)
		}
		clear(load.errs)
		load.mu.Unlock()
		if r.internal > 0 {
			t.Errorf("%s: %d answers 500", name, r.internal)
		}
		if r.replays > 0 {
			t.Errorf("%s: %d signed requests accepted twice", name, r.replays)
		}
		return r
	}

	kill := step("a replica killed (SIGKILL), started again", func() {
		_ = servers[1].cmd.Process.Kill()
		_ = servers[1].cmd.Wait()
		time.Sleep(2 * time.Second)
		servers[1] = startServer(t, dirs[1], args(1)...)
	})
	if kill.recovery > 1500*time.Millisecond {
		t.Errorf("a killed replica cost %s of failures behind the load balancer (target ≤ 1 s)", kill.recovery)
	}
	pg := step("PostgreSQL primary stopped, replica promoted 1 s later", func() {
		if err := pair.Primary.Stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := pair.Replica.Promote(); err != nil {
			t.Fatal(err)
		}
	})
	rd := step("Redis master killed (Sentinel failover)", func() { sentinels.Master.Stop() })
	for _, r := range []haResult{pg, rd} {
		if r.recovery > 10*time.Second {
			t.Errorf("a store failover cost %s (target ≤ 10 s)", r.recovery)
		}
		if r.failed != r.unavailable {
			t.Errorf("a store failover failed otherwise than with 503 + Retry-After: %+v", r)
		}
	}
	rolling := step("every replica restarted in turn (SIGTERM, drain 2 s)", func() {
		for i := range servers {
			servers[i].stop(t)
			servers[i] = startServer(t, dirs[i], args(i)...)
			time.Sleep(1500 * time.Millisecond) // back in the balancer (rise 2 × 0.5 s)
		}
	})
	if rolling.failed > 0 {
		t.Errorf("the rolling restart failed %d requests (target 0)", rolling.failed)
	}
	load.stop()
	lost := load.checkIssued(t)
	fmt.Fprintf(&report, "\n%d tokens issued during the run (each got its 201), %d of them refused afterwards.\n", load.issuedCount(), lost)
	if lost > 0 {
		t.Errorf("%d tokens that got a 201 are gone", lost)
	}
	t.Log("\n" + report.String())
}

// renderDeployConfig fills a template of docs/deploy/ into a temporary
// file.
func renderDeployConfig(t *testing.T, name string, vars map[string]string) string {
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(tmpl)
	for k, v := range vars {
		conf = strings.ReplaceAll(conf, k, v)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type haResult struct {
	sent, failed, unavailable, internal, connection int64
	recovery                                        time.Duration
	replays                                         int
}

// haLoad is a client of every scheme sending through the balancer all
// along, counting what it gets.
type haLoad struct {
	base string
	ctx  context.Context
	stop func()
	wg   sync.WaitGroup

	sent, failed, unavailable, internal, connection atomic.Int64

	mu          sync.Mutex
	lastFailure map[string]time.Time
	lastSuccess map[string]time.Time
	signed      []string       // Authorization headers of signed requests that got a 200
	errs        map[string]int // connection errors by scheme and kind, this step
	issued      []string       // xCAT tokens that got a 201

	client *http.Client
}

func startHALoad(t *testing.T, base, data string, c demoCreds) *haLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &haLoad{base: base, ctx: ctx, lastFailure: map[string]time.Time{}, lastSuccess: map[string]time.Time{}, errs: map[string]int{}, client: caClient(t, data)}
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, "demo", "alice.crt"), filepath.Join(data, "demo", "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	certClient := caClient(t, data, cert)
	body := func(res *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
		return string(b)
	}
	xcatToken := jsonField(t, body(l.post("/xcatws/tokens", "application/json", fmt.Sprintf(`{"userName":"wsuser","userPW":%q}`, c.xcatPW))), "token", "id")
	bearer := jsonField(t, body(l.post("/ovirt-engine/sso/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"password"}, "scope": {"ovirt-app-api"}, "username": {"admin@internal"}, "password": {c.ovirtPW}}.Encode())), "access_token")
	req, _ := http.NewRequest("GET", base+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", c.ovirtPW)
	req.Header.Set("Prefer", "persistent-auth")
	res, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie string
	for _, ck := range res.Cookies() {
		if ck.Name == "JSESSIONID" {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	// OAuth 1: every request signed anew; the headers of those that got a
	// 200 are kept, to be replayed after each step.
	capture := &captureTransport{next: caClient(t, data).Transport, load: l}
	signing := oauth1.NewSigningClient(ctx, oauth1.SigningClientConfig{ConsumerKey: "katello", ConsumerSecret: c.consumerSecret, User: "admin", Base: capture})

	get := func(client *http.Client, path string, header ...string) func() (*http.Response, error) {
		return func() (*http.Response, error) {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			return client.Do(req)
		}
	}
	schemes := map[string]func() (*http.Response, error){
		"basic":        get(l.client, "/xcatws/nodes", "Authorization", "Basic "+b64("wsuser:"+c.xcatPW)),
		"x-auth-token": get(l.client, "/xcatws/nodes", "X-Auth-Token", xcatToken),
		"pat":          get(l.client, "/api/status", "Authorization", "Basic "+b64("admin:"+c.pat)),
		"bearer":       get(l.client, "/ovirt-engine/api/vms", "Authorization", "Bearer "+bearer),
		"session":      get(l.client, "/ovirt-engine/api", "Cookie", "JSESSIONID="+cookie, "Prefer", "persistent-auth"),
		"oauth1":       get(signing, "/api/architectures", "FOREMAN-USER", "admin"),
		"mtls":         get(certClient, "/v1/configuration/containers"),
		"token-issue": func() (*http.Response, error) {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/xcatws/tokens", strings.NewReader(fmt.Sprintf(`{"userName":"wsuser","userPW":%q}`, c.xcatPW)))
			req.Header.Set("Content-Type", "application/json")
			res, err := l.client.Do(req)
			if err == nil && res.StatusCode == http.StatusCreated {
				body, _ := io.ReadAll(res.Body)
				var v struct {
					Token struct{ ID string } `json:"token"`
				}
				if json.Unmarshal(body, &v) == nil && v.Token.ID != "" {
					l.mu.Lock()
					l.issued = append(l.issued, v.Token.ID)
					l.mu.Unlock()
				}
				res.StatusCode = http.StatusOK
				res.Body = io.NopCloser(strings.NewReader(""))
				time.Sleep(200 * time.Millisecond)
			}
			return res, err
		},
	}
	for name, do := range schemes {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				res, err := do()
				if ctx.Err() != nil {
					return
				}
				l.count(name, res, err)
			}
		}()
	}
	l.stop = sync.OnceFunc(func() { cancel(); l.wg.Wait() })
	return l
}

func (l *haLoad) post(path, contentType, body string) (*http.Response, error) {
	return l.client.Post(l.base+path, contentType, strings.NewReader(body))
}

func (l *haLoad) count(name string, res *http.Response, err error) {
	l.sent.Add(1)
	now := time.Now()
	ok := false
	switch {
	case err != nil:
		l.failed.Add(1)
		l.connection.Add(1)
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		l.mu.Lock()
		l.errs[name+": "+msg]++
		l.mu.Unlock()
	default:
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusOK:
			ok = true
		case res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "":
			l.failed.Add(1)
			l.unavailable.Add(1)
		case res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable:
			l.failed.Add(1)
			l.internal.Add(1)
		default:
			l.failed.Add(1)
		}
	}
	l.mu.Lock()
	if ok {
		l.lastSuccess[name] = now
	} else {
		l.lastFailure[name] = now
	}
	l.mu.Unlock()
}

// phase returns the counts since the last call and starts new ones.
func (l *haLoad) phase() haResult {
	return haResult{sent: l.sent.Swap(0), failed: l.failed.Swap(0), unavailable: l.unavailable.Swap(0),
		internal: l.internal.Swap(0), connection: l.connection.Swap(0)}
}

// waitAllAnswer waits until every scheme has answered 200 after its last
// failure since start.
func (l *haLoad) waitAllAnswer(t *testing.T, start time.Time, limit time.Duration) {
	for deadline := time.Now().Add(limit); ; {
		l.mu.Lock()
		done := len(l.lastSuccess) > 0
		for name, ok := range l.lastSuccess {
			if ok.Before(start) || l.lastFailure[name].After(ok) {
				done = false
			}
		}
		l.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("some scheme still fails %s after the fault", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recoveredAfter is how long after start the last failure came (0 when
// none did).
func (l *haLoad) recoveredAfter(start time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last time.Duration
	for _, f := range l.lastFailure {
		if d := f.Sub(start); d > last {
			last = d
		}
	}
	return last
}

// replays sends again the signed requests kept since the last call and
// counts those accepted.
func (l *haLoad) replays(t *testing.T) int {
	l.mu.Lock()
	signed := l.signed
	l.signed = nil
	l.mu.Unlock()
	accepted := 0
	for _, h := range signed {
		req, _ := http.NewRequest("GET", l.base+"/api/architectures", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("FOREMAN-USER", "admin")
		res, err := l.client.Do(req)
		if err != nil {
			t.Errorf("replay: %v", err)
			continue
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			accepted++
		}
	}
	return accepted
}

func (l *haLoad) issuedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.issued)
}

// checkIssued counts the tokens issued during the run that no longer work.
func (l *haLoad) checkIssued(t *testing.T) int {
	lost := 0
	for _, tok := range l.issued {
		req, _ := http.NewRequest("GET", l.base+"/xcatws/nodes", nil)
		req.Header.Set("X-Auth-Token", tok)
		res, err := l.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			lost++
		}
	}
	return lost
}

// captureTransport keeps the Authorization header of the last few signed
// requests that got a 200.
type captureTransport struct {
	next http.RoundTripper
	load *haLoad
}

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusOK {
		c.load.mu.Lock()
		if len(c.load.signed) < 20 {
			c.load.signed = append(c.load.signed, r.Header.Get("Authorization"))
		}
		c.load.mu.Unlock()
	}
	return res, err
}
