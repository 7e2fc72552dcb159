package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Headers names the request headers that carry the identity upstream.
type Headers struct {
	User      string // the login, user@domain when the identity has a domain
	Groups    string // the groups, comma-separated
	Scheme    string // the scheme that proved it: basic, token, oauth1, …
	Signature string // with a signing key: "v1 t=UNIX sig=BASE64URL"
}

// DefaultHeaders are the identity headers when Config.Headers is zero.
var DefaultHeaders = Headers{User: "X-Gatehouse-User", Groups: "X-Gatehouse-Groups",
	Scheme: "X-Gatehouse-Scheme", Signature: "X-Gatehouse-Signature"}

func (h Headers) orDefault() Headers {
	if h == (Headers{}) {
		return DefaultHeaders
	}
	if h.Signature == "" {
		h.Signature = DefaultHeaders.Signature
	}
	return h
}

// spoofable is the set of identity header names (normalized, see
// headerKey) a client must not send upstream, beside every X-Gatehouse-*
// one.
func (h Headers) spoofable() map[string]bool {
	set := map[string]bool{}
	for _, n := range []string{h.User, h.Groups, h.Scheme, h.Signature} {
		set[headerKey(n)] = true
	}
	return set
}

// headerKey is the name under which servers may see header name: lower
// case, "_" as "-". CGI and WSGI map X_Gatehouse_User and X-Gatehouse-User
// to one variable (HTTP_X_GATEHOUSE_USER), and some servers fold "_" into
// "-", so an identity header is removed in every such spelling.
func headerKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// identityPrefix: every incoming header with it is removed, whatever the
// configured names, so a renamed header cannot be spoofed under its old name.
const identityPrefix = "x-gatehouse-"

// credentialHeaders are the request headers that carry a credential in one
// of gatehouse's schemes; New never passes them upstream.
var credentialHeaders = []string{"Authorization", "X-Auth-Token", "Foreman-User", "Jsessionid"}

// credentialCookies are the cookies that carry a credential (oVirt's
// persistent-auth session); New removes them and keeps the others.
var credentialCookies = []string{"JSESSIONID"}

// Config configures New.
type Config struct {
	// Upstream is where requests go: scheme, host and an optional path
	// prefix (https://10.0.0.5:8080/base joins /api/x to /base/api/x).
	Upstream *url.URL
	// Headers names the identity headers; zero = DefaultHeaders.
	Headers Headers
	// SignKey, when set (at least 32 bytes), signs the identity headers
	// with HMAC-SHA256 over user, groups, scheme, time, method and path
	// (see sign and Verifier).
	SignKey []byte
	// StripHeaders and StripCookies name more credentials to remove (a
	// session cookie renamed from JSESSIONID, say).
	StripHeaders, StripCookies []string
	// Transport makes the upstream requests; nil = one with DialTimeout,
	// ResponseHeaderTimeout and Expect: 100-continue support.
	Transport http.RoundTripper
	// DialTimeout bounds connecting to the upstream (0 = 10 s);
	// ResponseHeaderTimeout bounds waiting for its response headers after
	// the request was sent (0 = 60 s). A response body may stream for as
	// long as it takes.
	DialTimeout, ResponseHeaderTimeout time.Duration
	// Observe, when set, hears each upstream exchange: the status (502 or
	// 504 when there was no answer) and the time to the response headers.
	Observe func(status int, d time.Duration)
	// ErrorLog gets one record per failed upstream exchange.
	ErrorLog *slog.Logger
	// Env is the service's shared settings (auth.Env): the clock of
	// signatures.
	Env auth.Env
}

// New returns the reverse proxy. Put it behind gatehouse's middleware: it
// forwards the request with the identity of auth.IdentityFrom (no identity
// headers when there is none, as with Config.Optional) and without the
// credentials that proved it. Upstream failures are answered 502 (refused,
// reset) or 504 (timed out) with an RFC 9457 problem body.
func New(cfg Config) http.Handler {
	if cfg.Upstream == nil {
		panic("gateway: Config.Upstream is required")
	}
	if cfg.SignKey != nil && len(cfg.SignKey) < 32 {
		panic("gateway: Config.SignKey must be at least 32 bytes")
	}
	cfg.Headers = cfg.Headers.orDefault()
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	strip := map[string]bool{} // every spelling of each, as for the identity headers
	for _, h := range append(append([]string{}, credentialHeaders...), cfg.StripHeaders...) {
		strip[headerKey(h)] = true
	}
	cookies := append(append([]string{}, credentialCookies...), cfg.StripCookies...)
	spoofable := cfg.Headers.spoofable() // once, not per request
	transport := cfg.Transport
	if transport == nil {
		transport = newTransport(cfg.DialTimeout, cfg.ResponseHeaderTimeout)
	}
	if cfg.Observe != nil {
		transport = observed{transport, cfg.Observe}
	}
	rp := &httputil.ReverseProxy{
		// FlushInterval 0: ReverseProxy flushes at once where it matters
		// (text/event-stream, a response of unknown length); flushing every
		// write cost a TLS record each.
		Transport:  transport,
		BufferPool: bufferPool{},
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(cfg.Upstream)
			pr.SetXForwarded()
			out := pr.Out
			for name := range out.Header {
				if strip[headerKey(name)] {
					delete(out.Header, name)
				}
			}
			removeCookies(out, cookies)
			out.URL.RawQuery = httpx.StripQueryCredentials(out.URL.RawQuery)
			stripFormCredentials(out)
			setIdentity(out, cfg, spoofable)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status, detail := http.StatusBadGateway, "the upstream service did not answer"
			if isTimeout(err) {
				status, detail = http.StatusGatewayTimeout, "the upstream service did not answer in time"
			}
			if r.Context().Err() != nil {
				return // the client went away; nobody reads an answer
			}
			if cfg.ErrorLog != nil {
				cfg.ErrorLog.Warn("gateway: upstream failed", "status", status, "method", r.Method, "path", r.URL.Path, "error", err)
			}
			writeProblem(w, status, detail)
		},
	}
	return rp
}

func newTransport(dial, header time.Duration) *http.Transport {
	if dial <= 0 {
		dial = 10 * time.Second
	}
	if header <= 0 {
		header = 60 * time.Second
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = header
	t.ExpectContinueTimeout = time.Second
	t.TLSHandshakeTimeout = dial
	t.MaxIdleConnsPerHost = 256
	return t
}

// bufferPool reuses the 32 KiB buffers ReverseProxy copies responses
// through (without it, one per request: most of the proxy's garbage).
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// observed times each upstream exchange up to its response headers.
type observed struct {
	next    http.RoundTripper
	observe func(int, time.Duration)
}

func (o observed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := o.next.RoundTrip(r)
	status := http.StatusBadGateway
	switch {
	case err == nil:
		status = res.StatusCode
	case isTimeout(err):
		status = http.StatusGatewayTimeout
	}
	if r.Context().Err() == nil || err == nil {
		o.observe(status, time.Since(start))
	}
	return res, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(httpx.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Reason: "upstream"})
}

// removeCookies drops the named cookies from r's Cookie headers, keeping
// the others byte for byte.
func removeCookies(r *http.Request, names []string) {
	lines := r.Header.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	kept := keptCookies(lines, names)
	r.Header.Del("Cookie")
	if kept != "" {
		r.Header.Set("Cookie", kept)
	}
}

// keptCookies is one Cookie header value with the cookies of lines but the
// named ones ("JSESSIONID =x" too), byte for byte; "" when none is left.
func keptCookies(lines, names []string) string {
	var kept []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name = strings.TrimSpace(name); name == "" || containsFold(names, name) {
				continue
			}
			kept = append(kept, strings.TrimSpace(part))
		}
	}
	return strings.Join(kept, "; ")
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// maxFormStrip is the largest form body searched for credential parameters
// (OAuth 1 reads at most as much; a larger body passes as it is).
const maxFormStrip = 1 << 20

// stripFormCredentials removes credential parameters (oauth_*, userPW, …)
// from a form-encoded body.
func stripFormCredentials(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return
	}
	prefix, complete, err := httpx.PeekBody(r, maxFormStrip)
	if err != nil || !complete {
		return
	}
	cleaned := httpx.StripQueryCredentials(string(prefix))
	if cleaned == string(prefix) {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader([]byte(cleaned)))
	r.ContentLength = int64(len(cleaned))
	r.Header.Set("Content-Length", strconv.Itoa(len(cleaned)))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(cleaned)), nil }
}

// setIdentity removes every identity header the client sent and sets the
// request's identity, signed when there is a key.
func setIdentity(out *http.Request, cfg Config, spoofable map[string]bool) {
	for name := range out.Header {
		if key := headerKey(name); strings.HasPrefix(key, identityPrefix) || spoofable[key] {
			delete(out.Header, name)
		}
	}
	id, ok := auth.IdentityFrom(out.Context())
	if !ok || id == nil {
		return
	}
	h := cfg.Headers
	fields := identityFields(id)
	out.Header.Set(h.User, fields.User)
	if fields.Groups != "" {
		out.Header.Set(h.Groups, fields.Groups)
	}
	out.Header.Set(h.Scheme, fields.Scheme)
	if cfg.SignKey != nil {
		out.Header.Set(h.Signature, sign(cfg.SignKey, fields, cfg.Env.Now(), out.Method, out.URL.EscapedPath()))
	}
}

// identityFields is what the headers say of id.
func identityFields(id *auth.Identity) headerIdentity {
	return headerIdentity{User: id.Login(), Groups: strings.Join(id.Groups, ","), Scheme: id.Scheme}
}
