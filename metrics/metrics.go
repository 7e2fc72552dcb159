// Package metrics exports gatehouse's decisions in the Prometheus format
// (github.com/prometheus/client_golang): decisions by face, scheme, outcome
// and reason, the latency of authentication, throttled attempts, token
// issuance and, when the caller can count them, active sessions.
//
// Label values come from closed sets (the faces a caller names, the
// schemes and reasons gatehouse defines); anything else is reported as
// "other". User names, token ids and addresses never become labels, so the
// number of series stays bounded whatever clients send.
//
//	m := metrics.New(prometheus.NewRegistry())
//	p := preset.New(stores, preset.Options{Env: auth.Env{Observe: m.Observe}})
//	go http.ListenAndServe("127.0.0.1:9100", m.Handler())
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/auth"
)

// faces are the face labels accepted; other names become "other".
var faces = []string{"xcat", "satellite", "ovirt", "flocker", "gateway", "default"}

// schemes and reasons are the closed sets of the other labels.
var (
	schemes = []string{"", auth.SchemeBasic, auth.SchemeQuery, auth.SchemeToken, auth.SchemePAT, auth.SchemeOAuth1,
		auth.SchemeOAuth2, auth.SchemeSession, auth.SchemeMTLS}
	reasons = []auth.Reason{"", auth.ReasonMissing, auth.ReasonMalformed, auth.ReasonInvalid, auth.ReasonExpired,
		auth.ReasonRevoked, auth.ReasonInsecure, auth.ReasonForbidden, auth.ReasonInsufficientScope,
		auth.ReasonThrottled, auth.ReasonUnavailable}
	outcomes = []string{"allow", "anonymous", "deny", "fail"}
)

// Metrics holds the collectors; make it with New.
type Metrics struct {
	gatherer  prometheus.Gatherer
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttled *prometheus.CounterVec
	issued    *prometheus.CounterVec
	upstream  *prometheus.HistogramVec
	reg       prometheus.Registerer
}

// New registers gatehouse's collectors with reg, which must also be a
// prometheus.Gatherer for Handler (a *prometheus.Registry is both).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{reg: reg,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_auth_decisions_total",
			Help: "Authentication and authorization decisions by face, scheme, outcome and reason."}, []string{"face", "scheme", "outcome", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_auth_duration_seconds",
			Help:    "Time to authenticate and authorize a request, by face and outcome.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"face", "outcome"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_auth_throttled_total",
			Help: "Attempts refused by the throttle, by face."}, []string{"face"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_tokens_issued_total",
			Help: "Tokens issued by the token endpoints, by face."}, []string{"face"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_upstream_duration_seconds",
			Help:    "Time from forwarding a request to the upstream's response headers (gateway mode), by status class (502/504: no answer).",
			Buckets: prometheus.DefBuckets}, []string{"code"}),
	}
	reg.MustRegister(m.decisions, m.latency, m.throttled, m.issued, m.upstream)
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	return m
}

func oneOf[T comparable](v T, set []T, other T) T {
	if slices.Contains(set, v) {
		return v
	}
	return other
}

// Observe records one decision, labelled with the face in d.Name (use it
// as auth.Env.Observe; preset names each face).
func (m *Metrics) Observe(d auth.Decision) {
	face := oneOf(d.Name, faces, "other")
	outcome := oneOf(d.Outcome, outcomes, "other")
	m.decisions.WithLabelValues(face, oneOf(d.Scheme, schemes, "other"), outcome, string(oneOf(d.Reason, reasons, "other"))).Inc()
	m.latency.WithLabelValues(face, outcome).Observe(d.Duration.Seconds())
	if d.Reason == auth.ReasonThrottled {
		m.throttled.WithLabelValues(face).Inc()
	}
}

// CountIssued wraps a token endpoint: each 200 or 201 answer (xCAT answers
// 201 Created) counts as one token issued on face.
func (m *Metrics) CountIssued(face string, next http.Handler) http.Handler {
	face = oneOf(face, faces, "other")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusOK || sw.status == http.StatusCreated {
			m.issued.WithLabelValues(face).Inc()
		}
	})
}

// ObserveUpstream records one upstream exchange of the gateway (use it as
// gateway.Config.Observe): its status, by class ("2xx" … "5xx", with 502
// and 504 on their own as gatehouse's "no answer"), and its latency.
func (m *Metrics) ObserveUpstream(status int, d time.Duration) {
	code := "other"
	switch {
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		code = strconv.Itoa(status)
	case status >= 100 && status < 600:
		code = strconv.Itoa(status/100) + "xx"
	}
	m.upstream.WithLabelValues(code).Observe(d.Seconds())
}

// ActiveSessions registers a gauge read from count at each scrape (e.g. a
// store's count of unexpired sessions); count's error leaves it at -1.
func (m *Metrics) ActiveSessions(count func() (int, error)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_sessions_active",
		Help: "Unexpired persistent-auth sessions (-1 when the store did not answer)."}, func() float64 {
		n, err := count()
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// Handler serves the exposition format (text, or protobuf when asked).
func (m *Metrics) Handler() http.Handler {
	if m.gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
