package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scrapeGauge reads one unlabelled sample from a Prometheus text page.
func scrapeGauge(t *testing.T, metricsURL, name string) float64 {
	res, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	t.Fatalf("no %s in %s", name, metricsURL)
	return 0
}

// TestSoak puts 500 concurrent clients on the reference server for a
// minute across the schemes — hey (Debian's package) for Basic,
// X-Auth-Token, PATs, bearer tokens and session cookies, a Go client for
// client certificates — while PATs are created through Foreman's API and a
// watchdog asks /readyz every second. Afterwards: no request failed, the
// goroutines are back where they were, the heap has not grown, and every
// PAT created during the run still works. A measurement of a minute and
// more: it runs only with GATEHOUSE_SOAK=1 (GATEHOUSE_SOAK_DURATION, default
// 60s); bench/README.md quotes it.
func TestSoak(t *testing.T) {
	if os.Getenv("GATEHOUSE_SOAK") == "" {
		t.Skip("a measurement: set GATEHOUSE_SOAK=1 (needs hey)")
	}
	hey, err := exec.LookPath("hey")
	if err != nil {
		t.Fatal("hey not installed (apt-get install hey)")
	}
	duration, _ := time.ParseDuration(envOr("GATEHOUSE_SOAK_DURATION", "60s"))
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--metrics-addr", "127.0.0.1:0")
	metricsURL := s.metricsURL(t)
	c := s.creds(t)
	hc := caClient(t, data)
	token := jsonField(t, runCurl(t, t.TempDir(), fmt.Sprintf(`curl --cacert %s/ca/cluster.crt -X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"%s"}' %s/xcatws/tokens`,
		data, c.xcatPW, s.base)), "token", "id")
	bearer, session := demoBearer(t, data, s, c), demoSession(t, data, s, c)
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, "demo", "alice.crt"), filepath.Join(data, "demo", "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	// Warm up every path once, then take the baseline.
	for _, l := range []string{
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt --user wsuser:%s %s/xcatws/nodes", data, c.xcatPW, s.base),
		fmt.Sprintf("curl --cacert %s/ca/cluster.crt --user admin:%s %s/api/status", data, c.pat, s.base),
	} {
		runCurl(t, t.TempDir(), l)
	}
	time.Sleep(2 * time.Second)
	goroutines0 := scrapeGauge(t, metricsURL, "go_goroutines")
	heap0 := scrapeGauge(t, metricsURL, "go_memstats_heap_inuse_bytes")
	rss0 := scrapeGauge(t, metricsURL, "process_resident_memory_bytes")

	type heyRun struct {
		name    string
		clients int
		url     string
		headers []string
	}
	runs := []heyRun{
		{"cached Basic", 100, s.base + "/xcatws/nodes", []string{"Authorization: Basic " + b64("wsuser:"+c.xcatPW)}},
		{"X-Auth-Token", 100, s.base + "/xcatws/nodes", []string{"X-Auth-Token: " + token}},
		{"PAT", 100, s.base + "/api/status", []string{"Authorization: Basic " + b64("admin:"+c.pat)}},
		{"bearer", 100, s.base + "/ovirt-engine/api/vms", []string{"Authorization: Bearer " + bearer}},
		{"session", 50, s.base + "/ovirt-engine/api", []string{"Cookie: JSESSIONID=" + session, "Prefer: persistent-auth"}},
	}
	var wg sync.WaitGroup
	outs := make([]string, len(runs))
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"-z", duration.String(), "-c", strconv.Itoa(r.clients)}
			for _, h := range r.headers {
				args = append(args, "-H", h)
			}
			out, err := exec.Command(hey, append(args, r.url)...).CombinedOutput()
			if err != nil {
				t.Errorf("hey %s: %v\n%s", r.name, err, out)
			}
			outs[i] = string(out)
		}()
	}
	var certResult goResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		certResult = goLoad(t, caClient(t, data, cert), s.base+"/v1/configuration/containers", 50, duration)
	}()
	// PATs made while the load runs, and the watchdog.
	stop := make(chan struct{})
	var pats []string
	var patErrors, readyFailures atomic.Int64
	var side sync.WaitGroup
	side.Add(2)
	go func() {
		defer side.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			req, _ := http.NewRequest("POST", s.base+"/api/users/admin/personal_access_tokens",
				strings.NewReader(fmt.Sprintf(`{"personal_access_token":{"name":"soak-%d"}}`, i)))
			req.SetBasicAuth("admin", c.satPW)
			req.Header.Set("Content-Type", "application/json")
			res, err := hc.Do(req)
			if err != nil {
				patErrors.Add(1)
				continue
			}
			var body struct {
				Token string `json:"token_value"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated || body.Token == "" {
				patErrors.Add(1)
				continue
			}
			pats = append(pats, body.Token)
		}
	}()
	go func() {
		defer side.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			res, err := hc.Get(s.base + "/readyz")
			if err != nil || res.StatusCode != 200 {
				readyFailures.Add(1)
			}
			if err == nil {
				res.Body.Close()
			}
		}
	}()
	wg.Wait()
	close(stop)
	side.Wait()

	var report strings.Builder
	fmt.Fprintf(&report, "500 clients for %s (2-core VM, everything on the same two cores):\n| clients | scheme | requests/s | p50 | p99 | non-2xx or errors |\n|---:|---|---:|---:|---:|---:|\n", duration)
	total := 0
	for i, r := range runs {
		rps, p50, p99, bad := parseHey(t, outs[i])
		total += bad
		fmt.Fprintf(&report, "| %d | %s | %.0f | %s | %s | %d |\n", r.clients, r.name, rps, p50, p99, bad)
	}
	total += certResult.bad
	fmt.Fprintf(&report, "| 50 | client certificate (Go client) | %.0f | %s | %s | %d |\n", certResult.rps, certResult.p50, certResult.p99, certResult.bad)

	valid := 0
	for _, p := range pats {
		req, _ := http.NewRequest("GET", s.base+"/api/status", nil)
		req.SetBasicAuth("admin", p)
		if code, _ := getStatus(t, hc, req); code == 200 {
			valid++
		}
	}
	hc.CloseIdleConnections()
	time.Sleep(5 * time.Second) // the clients' connections close
	goroutines1 := scrapeGauge(t, metricsURL, "go_goroutines")
	heap1 := scrapeGauge(t, metricsURL, "go_memstats_heap_inuse_bytes")
	rss1 := scrapeGauge(t, metricsURL, "process_resident_memory_bytes")
	fmt.Fprintf(&report, "\nPATs created during the run: %d (failed to create: %d), still valid after: %d. /readyz failures: %d.\n",
		len(pats), patErrors.Load(), valid, readyFailures.Load())
	fmt.Fprintf(&report, "goroutines %0.f before → %0.f after; heap in use %.1f → %.1f MiB; resident %.1f → %.1f MiB\n",
		goroutines0, goroutines1, heap0/(1<<20), heap1/(1<<20), rss0/(1<<20), rss1/(1<<20))
	t.Log("\n" + report.String())

	if total != 0 || patErrors.Load() != 0 || readyFailures.Load() != 0 {
		t.Errorf("%d failed requests, %d failed PAT creations, %d /readyz failures", total, patErrors.Load(), readyFailures.Load())
	}
	if len(pats) == 0 || valid != len(pats) {
		t.Errorf("%d of %d PATs created during the run work", valid, len(pats))
	}
	if goroutines1 > goroutines0+5 {
		t.Errorf("goroutines grew from %.0f to %.0f", goroutines0, goroutines1)
	}
	if heap1 > 2*heap0+64<<20 {
		t.Errorf("heap in use grew from %.1f to %.1f MiB", heap0/(1<<20), heap1/(1<<20))
	}
}
