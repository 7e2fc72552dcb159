package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/metrics"
)

func scrape(t testing.TB, m *metrics.Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestLabelsAreClosedSets: values outside the known faces, schemes,
// outcomes and reasons are reported as "other", never as sent.
func TestLabelsAreClosedSets(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	m.Observe(auth.Decision{Name: "alice's-face", Outcome: "weird", Scheme: "x-custom-alice", Reason: "alice", Duration: time.Millisecond})
	m.Observe(auth.Decision{Name: "xcat", Outcome: "fail", Scheme: auth.SchemeBasic, Reason: auth.ReasonThrottled})
	text := scrape(t, m)
	if strings.Contains(text, "alice") {
		t.Errorf("a label carries a caller's value:\n%s", text)
	}
	for _, want := range []string{
		`gatehouse_auth_decisions_total{face="other",outcome="other",reason="other",scheme="other"} 1`,
		`gatehouse_auth_throttled_total{face="xcat"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}

// TestCountIssued counts 200 and 201 answers only.
func TestCountIssued(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	status := http.StatusCreated
	h := m.CountIssued("xcat", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	for _, s := range []int{201, 401, 200, 429} {
		status = s
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/xcatws/tokens", nil))
	}
	if text := scrape(t, m); !strings.Contains(text, `gatehouse_tokens_issued_total{face="xcat"} 2`) {
		t.Errorf("want 2 issued:\n%s", text)
	}
}

// Example counts a middleware's decisions and serves them to Prometheus.
func Example() {
	m := metrics.New(prometheus.NewRegistry())
	who := auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return &auth.Identity{User: u, Scheme: auth.SchemeBasic}, nil
		}
		return nil, auth.ErrNoCredentials
	})
	api := auth.Middleware(who, auth.Config{Name: "default", Env: auth.Env{Observe: m.Observe}})(http.NotFoundHandler())
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	for _, user := range []string{"alice", ""} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("X-User", user)
		resp, _ := srv.Client().Do(req)
		resp.Body.Close()
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "gatehouse_auth_decisions_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// gatehouse_auth_decisions_total{face="default",outcome="allow",reason="",scheme="basic"} 1
	// gatehouse_auth_decisions_total{face="default",outcome="fail",reason="missing",scheme=""} 1
}

// TestObserveUpstream labels upstream exchanges by status class only, with
// gatehouse's own 502/504 kept apart.
func TestObserveUpstream(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	for _, s := range []int{200, 204, 404, 502, 504, 503, 999} {
		m.ObserveUpstream(s, time.Millisecond)
	}
	text := scrape(t, m)
	for code, n := range map[string]int{"2xx": 2, "4xx": 1, "502": 1, "504": 1, "5xx": 1, "other": 1} {
		if want := fmt.Sprintf(`gatehouse_upstream_duration_seconds_count{code=%q} %d`, code, n); !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}
