package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/gateway"
)

var signKey = []byte("0123456789abcdef0123456789abcdef-gateway-test")

// recorder is an upstream that keeps what it received.
type recorder struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.got = append(rec.got, r.Clone(r.Context()))
	rec.body = append(rec.body, b)
	rec.mu.Unlock()
	w.Header().Set("X-Upstream", "yes")
	fmt.Fprint(w, "upstream ok")
}

func (rec *recorder) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) == 0 {
		t.Fatal("the upstream received nothing")
	}
	return rec.got[len(rec.got)-1], rec.body[len(rec.body)-1]
}

func newGateway(t *testing.T) (*authtest.Server, *recorder) {
	rec := &recorder{}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL + "/base")
	f := authtest.New(t)
	return f.NewTLSServer(gateway.New(gateway.Config{Upstream: u, SignKey: signKey})), rec
}

// spoof adds what a client must never get past the gateway: identity
// headers of its own and credentials besides the one that proves it.
func spoof(r *http.Request) *http.Request {
	r.Header.Set("X-Gatehouse-User", "root")
	r.Header.Set("X-Gatehouse-Groups", "admin")
	r.Header.Set("x-gatehouse-signature", "v1 t=1 sig=forged")
	r.Header.Set("X-Gatehouse-Anything", "x")
	// CGI and WSGI read X_Gatehouse_User as X-Gatehouse-User.
	r.Header["X_Gatehouse_User"] = []string{"admin"}
	r.Header["x_gatehouse_groups"] = []string{"admin"}
	r.Header["X_Auth_Token"] = []string{"stolen"}
	r.Header.Add("Cookie", "theme=dark; JSESSIONID=stolen; JSESSIONID =spaced")
	r.Header.Set("Foreman-User", "root")
	q := r.URL.Query()
	q.Set("page", "2")
	q.Set("oauth_token", "x")
	r.URL.RawQuery = q.Encode()
	return r
}

// TestNoCredentialReachesUpstream: for every scheme, the upstream gets the
// request with the right identity, signed, and none of the credentials or
// spoofed identity headers.
func TestNoCredentialReachesUpstream(t *testing.T) {
	srv, rec := newGateway(t)
	verifier := gateway.Verifier{Key: signKey}
	type sent struct {
		name   string
		do     func() (*http.Response, error)
		user   string
		scheme string
	}
	c := srv.Client()
	cases := []sent{
		{"basic", func() (*http.Response, error) {
			return c.Do(spoof(srv.Basic("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword)))
		}, authtest.XCATUser, "basic"},
		{"query", func() (*http.Response, error) {
			return c.Do(spoof(srv.Query("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword)))
		}, authtest.XCATUser, "query"},
		{"x-auth-token", func() (*http.Response, error) { return c.Do(spoof(srv.XAuthToken("GET", "/xcatws/nodes"))) }, authtest.XCATUser, "token"},
		{"pat", func() (*http.Response, error) { return c.Do(spoof(srv.PATBasic("GET", "/api/status"))) }, authtest.SatelliteUser, "pat"},
		{"bearer", func() (*http.Response, error) { return c.Do(spoof(srv.Bearer("GET", "/ovirt-engine/api/vms"))) }, authtest.OVirtUser, "oauth2"},
		{"oauth1", func() (*http.Response, error) {
			req, _ := http.NewRequest("GET", srv.URL+"/api/architectures?page=2", nil)
			req.Header.Set("X-Gatehouse-User", "root")
			req.Header.Add("Cookie", "theme=dark; JSESSIONID=stolen")
			return srv.OAuth1Client(authtest.SatelliteUser, false).Do(req)
		}, authtest.SatelliteUser, "oauth1"},
		{"session", func() (*http.Response, error) {
			sc := srv.SessionClient()
			req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api?page=2", nil)
			req.Header.Set("Prefer", "persistent-auth")
			req.Header.Set("X-Gatehouse-User", "root")
			req.Header.Add("Cookie", "theme=dark")
			return sc.Do(req)
		}, authtest.OVirtUser, "session"},
		{"mtls", func() (*http.Response, error) {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/configuration/containers", nil)
			return srv.CertClient(authtest.CertUser).Do(spoof(req))
		}, authtest.CertUser, "mtls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.do()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(body) != "upstream ok" {
				t.Fatalf("status %d body %q", res.StatusCode, body)
			}
			got, _ := rec.last(t)
			if !strings.HasPrefix(got.URL.Path, "/base/") {
				t.Errorf("upstream path %q, want under /base/", got.URL.Path)
			}
			for _, h := range []string{"Authorization", "X-Auth-Token", "Foreman-User", "Jsessionid", "X-Gatehouse-Anything"} {
				if v := got.Header.Get(h); v != "" {
					t.Errorf("upstream got %s: %q", h, v)
				}
			}
			for name := range got.Header {
				if strings.Contains(name, "_") {
					t.Errorf("upstream got %s: %q (an identity or credential header in another spelling)", name, got.Header[name])
				}
			}
			cookies := strings.Join(got.Header.Values("Cookie"), ";")
			if strings.Contains(cookies, "JSESSIONID") {
				t.Errorf("upstream got cookies %q", cookies)
			}
			if !strings.Contains(cookies, "theme=dark") {
				t.Errorf("upstream lost the other cookies: %q", cookies)
			}
			for k := range got.URL.Query() {
				if k == "userName" || k == "userPW" || k == "password" || strings.HasPrefix(k, "oauth_") || k == "access_token" {
					t.Errorf("upstream query carries %s: %q", k, got.URL.RawQuery)
				}
			}
			if got.URL.Query().Get("page") != "2" {
				t.Errorf("upstream lost the query: %q", got.URL.RawQuery)
			}
			id, err := verifier.Verify(got)
			if err != nil {
				t.Fatalf("signature: %v (headers %v)", err, got.Header)
			}
			if id.User != tc.user || id.Scheme != tc.scheme {
				t.Errorf("upstream identity %+v, want %s by %s", id, tc.user, tc.scheme)
			}
			if got.Header.Get("X-Forwarded-For") == "" || got.Header.Get("X-Forwarded-Proto") != "https" {
				t.Errorf("X-Forwarded-For %q, -Proto %q", got.Header.Get("X-Forwarded-For"), got.Header.Get("X-Forwarded-Proto"))
			}
		})
	}
}

// TestRefusedNeverReachesUpstream: a wrong password or a bare spoofed
// identity header stops at the gateway.
func TestRefusedNeverReachesUpstream(t *testing.T) {
	srv, rec := newGateway(t)
	for _, req := range []*http.Request{
		spoof(srv.Basic("GET", "/xcatws/nodes", authtest.XCATUser, "wrong")),
		spoof(must(http.NewRequest("GET", srv.URL+"/api/status", nil))),
	} {
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", req.URL.Path, res.StatusCode)
		}
	}
	if len(rec.got) != 0 {
		t.Errorf("the upstream received %d refused requests", len(rec.got))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFormCredentialsStripped: OAuth 1 parameters sent in a form body
// (as some clients do) are removed from the body the upstream gets; the
// other fields stay.
func TestFormCredentialsStripped(t *testing.T) {
	srv, rec := newGateway(t)
	req := srv.Basic("POST", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword)
	form := "name=node03&oauth_signature=abc&userPW=secret&groups=all"
	req.Body = io.NopCloser(strings.NewReader(form))
	req.ContentLength = int64(len(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, body := rec.last(t)
	if string(body) != "name=node03&groups=all" {
		t.Errorf("upstream body %q", body)
	}
}

// TestUpstreamDownIs502AndSlowIs504: problem+json, promptly.
func TestUpstreamDownIs502AndSlowIs504(t *testing.T) {
	f := authtest.New(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	for _, tc := range []struct {
		upstream string
		status   int
	}{{dead, 502}, {slow.URL, 504}} {
		u, _ := url.Parse(tc.upstream)
		var observed []int
		var mu sync.Mutex
		srv := f.NewTLSServer(gateway.New(gateway.Config{Upstream: u, ResponseHeaderTimeout: 200 * time.Millisecond,
			Observe: func(s int, d time.Duration) { mu.Lock(); observed = append(observed, s); mu.Unlock() },
		}))
		start := time.Now()
		res, err := srv.Client().Do(srv.Basic("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword))
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		_ = json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		if res.StatusCode != tc.status || p.Status != tc.status || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %+v %s", tc.upstream, res.StatusCode, p, res.Header.Get("Content-Type"))
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("%s: took %v", tc.upstream, time.Since(start))
		}
		mu.Lock()
		if len(observed) != 1 || observed[0] != tc.status {
			t.Errorf("observed %v, want [%d]", observed, tc.status)
		}
		mu.Unlock()
	}
}

// TestUpgradeAndExpectContinue: a websocket-style upgrade is passed
// through both ways, and Expect: 100-continue reaches an upstream that
// reads the body.
func TestUpgradeAndExpectContinue(t *testing.T) {
	f := authtest.New(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "echo" {
			if r.Header.Get("X-Gatehouse-User") != authtest.XCATUser {
				http.Error(w, "no identity", 400)
				return
			}
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			line, _ := brw.ReadString('\n')
			brw.WriteString("echo: " + line)
			brw.Flush()
			return
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "read %d", len(b))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	srv := f.NewTLSServer(gateway.New(gateway.Config{Upstream: u}))

	req := srv.Basic("GET", "/xcatws/stream", authtest.XCATUser, authtest.XCATPassword)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	noTimeout := &http.Client{Transport: srv.Client().Transport} // a timeout would wrap the upgraded body
	res, err := noTimeout.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", res.StatusCode)
	}
	rwc := res.Body.(io.ReadWriteCloser)
	defer rwc.Close()
	fmt.Fprint(rwc, "hello\n")
	line, _ := bufio.NewReader(rwc).ReadString('\n')
	if line != "echo: hello\n" {
		t.Errorf("through the upgraded connection: %q", line)
	}

	big := bytes.Repeat([]byte("x"), 1<<20)
	req = srv.Basic("PUT", "/xcatws/upload", authtest.XCATUser, authtest.XCATPassword)
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(big)), int64(len(big))
	req.Header.Set("Expect", "100-continue")
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != fmt.Sprintf("read %d", len(big)) {
		t.Errorf("100-continue upload: %d %q", res.StatusCode, b)
	}
}
