package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadRow is one line of a load report: a URL and the headers hey sends.
type loadRow struct {
	name, url string
	headers   []string
}

// loadConfig is what GATEHOUSE_LOADGEN_* say: hey's duration and
// connections per row, and how many interleaved rounds.
func loadConfig(t *testing.T) (hey, duration, conc string, rounds int) {
	if os.Getenv("GATEHOUSE_LOADGEN") == "" {
		t.Skip("a measurement: set GATEHOUSE_LOADGEN=1 (needs hey)")
	}
	hey, err := exec.LookPath("hey")
	if err != nil {
		t.Fatal("hey not installed (apt-get install hey)")
	}
	rounds, _ = strconv.Atoi(envOr("GATEHOUSE_LOADGEN_ROUNDS", "3"))
	return hey, envOr("GATEHOUSE_LOADGEN_DURATION", "10s"), envOr("GATEHOUSE_LOADGEN_CONCURRENCY", "32"), max(rounds, 1)
}

// heyTable runs every row with hey, round after round, and returns a
// Markdown table of each row's median round. Each row after baseline runs
// next to a run of baseline, every round (adjacent), and its share of
// baseline is the median of those pairs' ratios, with their range: the
// machine's speed drifts between rounds, and a pair sees the same moment.
//
// With server set (the process serving every row), the table also gives
// the server's CPU time per request, and each row's share of it as the
// bare run's CPU per request over the row's, the median of the pairs: the
// server's own cost, whatever the load generator beside it takes.
func heyTable(t *testing.T, rows []loadRow, baseline string, server *exec.Cmd) string {
	hey, duration, conc, rounds := loadConfig(t)
	type result struct {
		rps      float64
		p50, p99 string
		bad      int
		cpu      time.Duration // the server's, per request
	}
	run := func(row loadRow) result {
		args := []string{"-z", duration, "-c", conc}
		for _, h := range row.headers {
			args = append(args, "-H", h)
		}
		before := processCPU(t, server)
		out, err := exec.Command(hey, append(args, row.url)...).CombinedOutput()
		if err != nil {
			t.Fatalf("hey: %v\n%s", err, out)
		}
		used := processCPU(t, server) - before
		var r result
		r.rps, r.p50, r.p99, r.bad = parseHey(t, string(out))
		if n := heyRequests(string(out)); n > 0 {
			r.cpu = used / time.Duration(n)
		}
		time.Sleep(500 * time.Millisecond)
		return r
	}
	base := slices.IndexFunc(rows, func(r loadRow) bool { return r.name == baseline })
	results := make([][]result, len(rows))
	ratios := make([][]float64, len(rows))
	cpuRatios := make([][]float64, len(rows))
	for round := range rounds {
		for i, row := range rows {
			if i == base {
				continue
			}
			if base >= 0 && i > base {
				b, r := adjacent(round, func() result { return run(rows[base]) }, func() result { return run(row) })
				results[base] = append(results[base], b)
				results[i] = append(results[i], r)
				ratios[i] = append(ratios[i], r.rps/b.rps)
				if r.cpu > 0 {
					cpuRatios[i] = append(cpuRatios[i], float64(b.cpu)/float64(r.cpu))
				}
				continue
			}
			results[i] = append(results[i], run(row))
		}
		if base == len(rows)-1 { // nothing after it to pair with
			results[base] = append(results[base], run(rows[base]))
		}
	}
	var report strings.Builder
	fmt.Fprintf(&report, "hey -z %s -c %s, median of %d rounds; each row's share of the %s is the median of %d adjacent pairs [their range]\n", duration, conc, rounds, baseline, rounds)
	if server != nil {
		report.WriteString("| | requests/s | p50 | p99 | non-2xx | server CPU per request (share: bare's over the row's) |\n|---|---:|---:|---:|---:|---:|\n")
	} else {
		report.WriteString("| | requests/s | p50 | p99 | non-2xx |\n|---|---:|---:|---:|---:|\n")
	}
	for i, row := range rows {
		rs := results[i]
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
		med := rs[len(rs)/2]
		bad := 0
		for _, r := range rs {
			bad += r.bad
		}
		share := ""
		if len(ratios[i]) > 0 {
			m, lo, hi := medianRange(ratios[i])
			share = fmt.Sprintf(" (%.0f %% of the %s [%.0f–%.0f %%])", 100*m, baseline, 100*lo, 100*hi)
		}
		fmt.Fprintf(&report, "| %s | %.0f%s | %s | %s | %d |", row.name, med.rps, share, med.p50, med.p99, bad)
		if server != nil {
			cpus := make([]float64, len(rs))
			for j, r := range rs {
				cpus[j] = float64(r.cpu)
			}
			c, _, _ := medianRange(cpus)
			fmt.Fprintf(&report, " %.1f µs", c/1e3)
			if len(cpuRatios[i]) > 0 {
				m, lo, hi := medianRange(cpuRatios[i])
				fmt.Fprintf(&report, " (%.0f %% [%.0f–%.0f %%])", 100*m, 100*lo, 100*hi)
			}
			report.WriteString(" |")
		}
		report.WriteString("\n")
	}
	return report.String()
}

// adjacent runs bare and row next to each other, bare first in even
// rounds and row first in odd ones: a drift of the machine within a pair
// cancels over two rounds instead of always counting against the row.
func adjacent[T any](round int, bare, row func() T) (b, r T) {
	if round%2 == 0 {
		b = bare()
		return b, row()
	}
	r = row()
	return bare(), r
}

// medianRange is xs' median, least and greatest.
func medianRange(xs []float64) (med, lo, hi float64) {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2], xs[0], xs[len(xs)-1]
}

// TestGatewayLoadReport measures the gateway with hey (Debian's package)
// on loopback: requests/s and p50/p99 of the bare upstream, of a bare TLS
// reverse proxy (httputil.ReverseProxy, no authentication) and of `serve
// --upstream` with cached Basic, a PAT and a bearer token. It is a
// measurement, not a check: it runs only with GATEHOUSE_LOADGEN=1 and
// prints the table docs/gateway.md quotes: the median of
// GATEHOUSE_LOADGEN_ROUNDS (default 3) interleaved rounds of
// GATEHOUSE_LOADGEN_DURATION (default 10s) per row with
// GATEHOUSE_LOADGEN_CONCURRENCY (default 32) connections.
func TestGatewayLoadReport(t *testing.T) {
	loadConfig(t)
	body := []byte(`{"result":"ok"}`)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer upstream.Close()

	data := t.TempDir()
	s := startLoadServer(t, data, "--demo", "--upstream", upstream.URL)
	c := s.creds(t)
	bareURL := startBareProxy(t, upstream.URL, data)
	bearer := demoBearer(t, data, s, c)
	t.Log("\n" + heyTable(t, []loadRow{
		{"bare upstream (plain HTTP)", upstream.URL + "/xcatws/nodes", nil},
		{"bare TLS reverse proxy", bareURL + "/xcatws/nodes", nil},
		{"gateway, cached Basic (xCAT)", s.base + "/xcatws/nodes", []string{"Authorization: Basic " + b64("wsuser:"+c.xcatPW)}},
		{"gateway, PAT as Basic (Satellite)", s.base + "/api/status", []string{"Authorization: Basic " + b64("admin:"+c.pat)}},
		{"gateway, bearer (oVirt)", s.base + "/ovirt-engine/api/vms", []string{"Authorization: Bearer " + bearer}},
	}, "bare TLS reverse proxy", nil))
}

// demoBearer gets an oVirt access token for the demo's admin@internal.
func demoBearer(t *testing.T, data string, s *server, c demoCreds) string {
	return jsonField(t, runCurl(t, t.TempDir(), fmt.Sprintf("curl --cacert %s/ca/cluster.crt -H 'Accept: application/json' --data 'grant_type=password&scope=ovirt-app-api&username=admin%%40internal&password=%s' %s/ovirt-engine/sso/oauth/token",
		data, c.ovirtPW, s.base)), "access_token")
}

// bareProxyEnv, set to an upstream URL, makes the test binary a bare TLS
// reverse proxy (httputil.ReverseProxy, no authentication, the server
// certificate of the data directory in GATEHOUSE_BARE_PROXY_DATA) that
// prints its address and serves until killed.
const bareProxyEnv = "GATEHOUSE_BARE_PROXY_UPSTREAM"

func runBareProxy(upstream string) {
	u, err := url.Parse(upstream)
	if err != nil {
		panic(err)
	}
	data := os.Getenv("GATEHOUSE_BARE_PROXY_DATA")
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, "server.crt"), filepath.Join(data, "server.key"))
	if err != nil {
		panic(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		panic(err)
	}
	fmt.Println("https://" + ln.Addr().String())
	// The gateway's transport settings and buffer pool, so that only
	// authentication differs.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{Transport: tr, BufferPool: pool{}, Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() }}
	_ = http.Serve(ln, rp)
}

type pool struct{}

var bufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (pool) Get() []byte  { return *bufs.Get().(*[]byte) }
func (pool) Put(b []byte) { bufs.Put(&b) }

// startBareProxy runs the bare proxy as a process of its own, as the
// gateway is, and returns its URL.
func startBareProxy(t *testing.T, upstream, data string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), bareProxyEnv+"="+upstream, "GATEHOUSE_BARE_PROXY_DATA="+data)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("bare proxy: %v", err)
	}
	return strings.TrimSpace(line)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	heyRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	heyP      = regexp.MustCompile(`(?m)^\s+(50|99)%+ in ([0-9.]+) secs`)
	heyStatus = regexp.MustCompile(`(?m)^\s+\[(\d{3})\]\s+(\d+) responses`)
)

// parseHey reads requests/s, p50, p99 and the number of non-2xx answers
// (errors count too) from hey's summary.
func parseHey(t *testing.T, out string) (rps float64, p50, p99 string, bad int) {
	m := heyRPS.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Requests/sec in hey's output:\n%s", out)
	}
	rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range heyP.FindAllStringSubmatch(out, -1) {
		secs, _ := strconv.ParseFloat(p[2], 64)
		v := fmt.Sprintf("%.2f ms", secs*1000)
		if p[1] == "50" {
			p50 = v
		} else {
			p99 = v
		}
	}
	for _, s := range heyStatus.FindAllStringSubmatch(out, -1) {
		if n, _ := strconv.Atoi(s[2]); !strings.HasPrefix(s[1], "2") {
			bad += n
		}
	}
	if i := strings.Index(out, "Error distribution:"); i >= 0 {
		bad += strings.Count(out[i:], "\n  [")
	}
	return rps, p50, p99, bad
}

// heyRequests is how many responses hey counted.
func heyRequests(out string) int {
	n := 0
	for _, s := range heyStatus.FindAllStringSubmatch(out, -1) {
		k, _ := strconv.Atoi(s[2])
		n += k
	}
	return n
}

// processCPU is the user and system CPU time p has used so far (Linux's
// /proc; 0 without p or /proc).
func processCPU(t *testing.T, p *exec.Cmd) time.Duration {
	if p == nil || p.Process == nil {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command's closing parenthesis: utime and stime
	// are the 12th and 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		t.Fatalf("unexpected /proc stat: %q", stat)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
