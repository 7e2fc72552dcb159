package loadtest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// serveEnv makes the test binary the server under attack. With
// GATEHOUSE_LOADTEST_UNBOUNDED=1 beside it, the server has no hash bound
// (a way to see the figures from before the bound).
const serveEnv = "GATEHOUSE_LOADTEST_SERVE"

// TestMain re-executed with serveEnv set is the server under attack.
func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		serve()
		return
	}
	os.Exit(m.Run())
}

// handler is Basic over a store with one real user ("legit", argon2id at
// the default cost), the default password cache and hash slots, and a
// throttle that takes the client address from X-Test-Addr (so one load
// generator can be many addresses).
func handler(store memstore.Store, slots *pwcheck.HashSlots, ttl, maxAge time.Duration) http.Handler {
	v := &pwcheck.StoreVerifier{Users: store, Slots: slots}
	c := pwcheck.NewCache(pwcheck.CacheConfig{Next: v, Users: store, TTL: ttl, MaxAge: maxAge})
	a := basic.New(basic.Config{
		Passwords: &pwcheck.Pipeline{Verifier: c, Throttle: &pwcheck.Throttle{Counter: store}, ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Test-Addr") }},
	})
	return auth.Middleware(a, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
}

func legitStore() memstore.Store {
	st := memstore.New()
	h, err := password.Hash("legit-password")
	if err != nil {
		panic(err)
	}
	if err := st.PutUser(context.Background(), stores.User{Name: "legit", PasswordHash: h}); err != nil {
		panic(err)
	}
	return st
}

// serve runs the server process: prints its address, serves until stdin
// closes.
func serve() {
	var slots *pwcheck.HashSlots
	if os.Getenv("GATEHOUSE_LOADTEST_UNBOUNDED") == "1" { // how it was before the bound, for comparison
		slots = pwcheck.NewHashSlots(1<<20, time.Hour)
		slots.SetCPUShare(0)
	}
	srv := httptest.NewUnstartedServer(handler(legitStore(), slots, 0, 0))
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	fmt.Printf("ADDR %s\n", srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// server is the server process seen from the test.
type server struct {
	url string
	cmd *exec.Cmd
	in  io.WriteCloser
}

func startServer(t *testing.T) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1", "GOMAXPROCS=2")
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, in: in}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	s.url = strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	return s
}

// peakRSS is the server process's peak resident memory (VmHWM).
func (s *server) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// newClient is an HTTPS client with its own connections, trusting any
// certificate (the server's is made up for the test).
func newClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		MaxIdleConnsPerHost: conns,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// hammer runs workers loops of send, each pausing pace between requests,
// until stop, counting responses by status and keeping their latencies.
type hammer struct {
	mu        sync.Mutex
	byStatus  map[int]int
	latencies []time.Duration
	errors    atomic.Int64
	wait      func() // until every worker has returned
}

func run(workers int, stop <-chan struct{}, pace time.Duration, send func(worker, i int) (int, error)) *hammer {
	h := &hammer{byStatus: map[int]int{}}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(pace):
				}
				start := time.Now()
				status, err := send(w, i)
				took := time.Since(start)
				h.mu.Lock()
				if err != nil {
					h.errors.Add(1)
				} else {
					h.byStatus[status]++
					if i > 0 { // the first request of a connection pays its TLS handshake
						h.latencies = append(h.latencies, took)
					}
				}
				h.mu.Unlock()
			}
		}()
	}
	h.wait = wg.Wait
	return h
}

func (h *hammer) count(status int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byStatus[status]
}

// p99 is the 99th percentile latency.
func (h *hammer) p99() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.latencies) == 0 {
		return 0
	}
	l := append([]time.Duration(nil), h.latencies...)
	slices.Sort(l)
	return l[len(l)*99/100]
}

func get(c *http.Client, url, user, pw, addr string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth(user, pw)
	req.Header.Set("X-Test-Addr", addr)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
