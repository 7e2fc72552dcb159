package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/oauth1"
)

// demoSession signs in to oVirt's API with persistent-auth and returns the
// JSESSIONID.
func demoSession(t *testing.T, data string, s *server, c demoCreds) string {
	hc := caClient(t, data)
	req, _ := http.NewRequest("GET", s.base+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", c.ovirtPW)
	req.Header.Set("Prefer", "persistent-auth")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "JSESSIONID" {
			return ck.Value
		}
	}
	t.Fatalf("no JSESSIONID: %d %v", res.StatusCode, res.Header)
	return ""
}

// TestServeLoadReport measures the reference server with hey per scheme
// against its bare handler (/healthz: the same TLS listener and mux, no
// authentication). hey cannot sign OAuth 1 requests (a nonce each) nor
// present a client certificate: the mTLS row is measured by a Go client
// (goLoad) at the same concurrency, next to the bare handler measured the
// same way. Run with GATEHOUSE_LOADGEN=1; see TestGatewayLoadReport for the
// knobs.
func TestServeLoadReport(t *testing.T) {
	loadConfig(t)
	data := t.TempDir()
	s := startLoadServer(t, data, "--demo")
	c := s.creds(t)
	token := jsonField(t, runCurl(t, t.TempDir(), fmt.Sprintf(`curl --cacert %s/ca/cluster.crt -X POST -H 'Content-Type: application/json' --data '{"userName":"wsuser","userPW":"%s"}' %s/xcatws/tokens`,
		data, c.xcatPW, s.base)), "token", "id")
	// Every authenticated row asks for one of the sample API's static
	// answers, so that the rows differ only by gatehouse's work (the
	// session row used to ask for /ovirt-engine/api, whose answer is
	// encoded per request: 15–20 µs of server CPU under load).
	t.Log("\n" + heyTable(t, []loadRow{
		{"bare handler (/healthz)", s.base + "/healthz", nil},
		{"cached Basic (xCAT)", s.base + "/xcatws/nodes", []string{"Authorization: Basic " + b64("wsuser:"+c.xcatPW)}},
		{"X-Auth-Token (xCAT)", s.base + "/xcatws/nodes", []string{"X-Auth-Token: " + token}},
		{"PAT as Basic (Satellite)", s.base + "/api/status", []string{"Authorization: Basic " + b64("admin:"+c.pat)}},
		{"bearer (oVirt)", s.base + "/ovirt-engine/api/vms", []string{"Authorization: Bearer " + demoBearer(t, data, s, c)}},
		{"session cookie (oVirt)", s.base + "/ovirt-engine/api/vms", []string{"Cookie: JSESSIONID=" + demoSession(t, data, s, c), "Prefer: persistent-auth"}},
	}, "bare handler (/healthz)", s.cmd))

	_, duration, conc, rounds := loadConfig(t)
	d, _ := time.ParseDuration(duration)
	var n int
	fmt.Sscan(conc, &n)
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, "demo", "alice.crt"), filepath.Join(data, "demo", "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	hc := caClient(t, data, cert)
	bare, mtls, share, bad := interleaved(rounds, withServerCPU(t, s.cmd, func() goResult { return goLoad(t, hc, s.base+"/healthz", n, d) }),
		withServerCPU(t, s.cmd, func() goResult { return goLoad(t, hc, s.base+"/v1/configuration/containers", n, d) }))
	t.Logf("\nGo client, %d connections, %s each, a client certificate on every connection, median of %d interleaved rounds (the share: median of the adjacent pairs):\n| | requests/s | p50 | p99 | non-2xx (all rounds) |\n|---|---:|---:|---:|---:|\n"+
		"| bare handler (/healthz) | %.0f | %s | %s | %d |\n| client certificate (Flocker) | %.0f (%s) | %s | %s | %d |",
		n, d, rounds, bare.rps, bare.p50, bare.p99, bare.bad, mtls.rps, share, mtls.p50, mtls.p99, bad)

	t.Log(oauth1LoadTable(t, data, s, c, "SQLite nonces"))
}

// TestServeLoadReportPostgresRedis is TestServeLoadReport's OAuth 1 row on
// the other store combination: `serve --db postgres://… --redis …`, where
// Redis keeps the nonces (SET NX) and PostgreSQL the consumers, users and
// rules. Run with GATEHOUSE_LOADGEN=1 (it starts both servers itself, as
// .ci/run's tests do).
func TestServeLoadReportPostgresRedis(t *testing.T) {
	loadConfig(t)
	dsn, redisAddr := testservers.PostgresDSN(t), testservers.RedisAddr(t)
	data := t.TempDir()
	s := startLoadServer(t, data, "--demo", "--db", dsn, "--redis", redisAddr)
	c := s.creds(t)
	t.Log(heyTable(t, []loadRow{
		{"bare handler (/healthz)", s.base + "/healthz", nil},
		{"cached Basic (xCAT)", s.base + "/xcatws/nodes", []string{"Authorization: Basic " + b64("wsuser:"+c.xcatPW)}},
		{"PAT as Basic (Satellite)", s.base + "/api/status", []string{"Authorization: Basic " + b64("admin:"+c.pat)}},
		{"session cookie (oVirt)", s.base + "/ovirt-engine/api/vms", []string{"Cookie: JSESSIONID=" + demoSession(t, data, s, c), "Prefer: persistent-auth"}},
	}, "bare handler (/healthz)", s.cmd))
	t.Log(oauth1LoadTable(t, data, s, c, "PostgreSQL consumers, Redis nonces"))
}

// oauth1LoadTable measures OAuth 1 with a fresh nonce on every request
// (dghubble/oauth1, as hammer's Go peers sign) against the same server's
// bare handler signed the same way, so that both sides do the same client
// work, rounds interleaved as heyTable does, and returns the table of each
// row's median round.
func oauth1LoadTable(t *testing.T, data string, s *server, c demoCreds, nonces string) string {
	_, duration, conc, rounds := loadConfig(t)
	d, _ := time.ParseDuration(duration)
	var n int
	fmt.Sscan(conc, &n)
	base := caClient(t, data).Transport.(*http.Transport)
	base.MaxIdleConnsPerHost = n
	signing := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: "katello", ConsumerSecret: c.consumerSecret,
		User: "admin", Base: base})
	b, o, share, bad := interleaved(rounds, withServerCPU(t, s.cmd, func() goResult { return goLoad(t, signing, s.base+"/healthz", n, d) }),
		withServerCPU(t, s.cmd, func() goResult { return goLoad(t, signing, s.base+"/api/architectures", n, d) }))
	return fmt.Sprintf("\nGo client, %d connections, %s each, every request signed with a fresh nonce, median of %d rounds (the share: median of the adjacent pairs):\n| | requests/s | p50 | p99 | non-2xx (all rounds) |\n|---|---:|---:|---:|---:|\n"+
		"| bare handler (/healthz) | %.0f | %s | %s | %d |\n| OAuth 1 (Satellite, %s) | %.0f (%s) | %s | %s | %d |",
		n, d, rounds, b.rps, b.p50, b.p99, b.bad, nonces, o.rps, share, o.p50, o.p99, bad)
}

// interleaved runs bare and row next to each other (adjacent), rounds
// times, and returns each one's median round (by requests/s), row's share
// of bare as the median of the rounds' pairs with its range, and row's
// failures in all rounds.
func interleaved(rounds int, bare, row func() goResult) (b, r goResult, share pairShare, bad int) {
	var bs, rs []goResult
	var ratios, cpuRatios []float64
	for round := range rounds {
		b, r := adjacent(round, bare, row)
		bs, rs = append(bs, b), append(rs, r)
		ratios = append(ratios, r.rps/b.rps)
		if r.cpu > 0 {
			cpuRatios = append(cpuRatios, float64(b.cpu)/float64(r.cpu))
		}
	}
	for _, x := range rs {
		bad += x.bad
	}
	median := func(xs []goResult) goResult {
		slices.SortFunc(xs, func(a, b goResult) int { return cmp.Compare(a.rps, b.rps) })
		return xs[len(xs)/2]
	}
	share.med, share.lo, share.hi = medianRange(ratios)
	if len(cpuRatios) > 0 {
		share.cpu, share.cpuLo, share.cpuHi = medianRange(cpuRatios)
	}
	return median(bs), median(rs), share, bad
}

// pairShare is a row's share of the bare handler: the median of adjacent
// pairs' ratios and their range, of requests/s and, when measured, of the
// server's CPU per request (bare's over the row's).
type pairShare struct{ med, lo, hi, cpu, cpuLo, cpuHi float64 }

func (p pairShare) String() string {
	s := fmt.Sprintf("%.0f %% of the bare handler [%.0f–%.0f %%]", 100*p.med, 100*p.lo, 100*p.hi)
	if p.cpu > 0 {
		s += fmt.Sprintf("; server CPU per request: %.0f %% [%.0f–%.0f %%]", 100*p.cpu, 100*p.cpuLo, 100*p.cpuHi)
	}
	return s
}

type goResult struct {
	rps      float64
	p50, p99 time.Duration
	bad      int
	n        int           // requests answered
	cpu      time.Duration // the server's CPU per request, when measured (withServerCPU)
}

// goLoad sends GET url from n goroutines (one keep-alive connection each)
// for d and reports requests/s, latency percentiles and failures.
func goLoad(t *testing.T, c *http.Client, url string, n int, d time.Duration) goResult {
	if tr, ok := c.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = n
	}
	var mu sync.Mutex
	var lat []time.Duration
	var bad atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				start := time.Now()
				res, err := c.Get(url)
				if err != nil {
					bad.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					bad.Add(1)
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	c.CloseIdleConnections()
	if len(lat) == 0 {
		t.Fatalf("no request to %s succeeded", url)
	}
	slices.SortFunc(lat, cmp.Compare[time.Duration])
	return goResult{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2].Round(10 * time.Microsecond),
		p99: lat[len(lat)*99/100].Round(10 * time.Microsecond), bad: int(bad.Load()), n: len(lat)}
}

// withServerCPU wraps a load run to record the server's CPU time per
// request.
func withServerCPU(t *testing.T, server *exec.Cmd, run func() goResult) func() goResult {
	return func() goResult {
		before := processCPU(t, server)
		r := run()
		if r.n > 0 {
			r.cpu = (processCPU(t, server) - before) / time.Duration(r.n)
		}
		return r
	}
}
