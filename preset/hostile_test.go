package preset_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/internal/syncbuf"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
)

// marker is the password every hostile request sends: it must never come
// back in a response or reach the log.
const marker = "hunter2-marker-7f3a"

// storedSecrets are the real secrets of the fixture: never in a response
// or the log either.
var storedSecrets = []string{"cluster-secret", "satellite-pw", "ovirt-pw", "katello-secret-2f6b1c"}

// hostile is one malformed or hostile request: either an http.Request or
// raw bytes written to the TLS connection.
type hostile struct {
	name string
	req  func(base string) *http.Request
	raw  string // with {HOST} for the host
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// faceTargets are a protected path of each face.
var faceTargets = []struct{ face, method, path string }{
	{"xcat", "GET", "/xcatws/nodes"},
	{"satellite", "GET", "/api/status"},
	{"satellite", "POST", "/api/hosts"},
	{"ovirt", "GET", "/ovirt-engine/api"},
	{"ovirt", "GET", "/ovirt-engine/api/vms"},
	{"flocker", "GET", "/v1/configuration/containers"},
}

// authHeaders are hostile credentials in headers.
var authHeaders = []struct{ name, header, value string }{
	{"bad base64", "Authorization", "Basic !!!not-base64!!!"},
	{"no colon", "Authorization", "Basic " + b64("wsuser"+marker)},
	{"NUL in password", "Authorization", "Basic " + b64("wsuser:"+marker+"\x00")},
	{"invalid UTF-8 login", "Authorization", "Basic " + b64("\xff\xfe:"+marker)},
	{"control chars in login", "Authorization", "Basic " + b64("ws\x01user:"+marker)},
	{"8 KiB basic", "Authorization", "Basic " + b64("wsuser:"+marker+strings.Repeat("A", 6000))},
	{"Basic without space", "Authorization", "Basic"},
	{"empty bearer", "Authorization", "Bearer "},
	{"junk bearer", "Authorization", "Bearer gate_at_" + marker},
	{"alg none JWT", "Authorization", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0."},
	{"forged HS256 JWT", "Authorization", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMCwianRpIjoieCJ9.c2lnbmF0dXJlLWZvcmdlZA"},
	{"expired-looking JWT", "Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6MX0.AAAA"},
	{"OAuth missing fields", "Authorization", `OAuth oauth_consumer_key="katello"`},
	{"OAuth bad signature", "Authorization", `OAuth oauth_consumer_key="katello", oauth_nonce="n1", oauth_signature="` + marker + `", oauth_signature_method="HMAC-SHA1", oauth_timestamp="` + fmt.Sprint(time.Now().Unix()) + `", oauth_version="1.0"`},
	{"OAuth unknown method", "Authorization", `OAuth oauth_consumer_key="katello", oauth_nonce="n2", oauth_signature="x", oauth_signature_method="HMAC-MD5", oauth_timestamp="1", oauth_version="1.0"`},
	{"OAuth unterminated quote", "Authorization", `OAuth oauth_consumer_key="katello, oauth_signature="`},
	{"OAuth duplicate conflicting", "Authorization", `OAuth oauth_consumer_key="katello", oauth_consumer_key="other", oauth_nonce="n", oauth_signature="x", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1"`},
	{"unknown scheme", "Authorization", "Digest username=\"wsuser\", response=\"" + marker + "\""},
	{"Negotiate", "Authorization", "Negotiate " + b64(marker)},
	{"junk X-Auth-Token", "X-Auth-Token", marker},
	{"8 KiB X-Auth-Token", "X-Auth-Token", "gate_at_" + strings.Repeat("x", 8000)},
	{"session fixation cookie", "Cookie", "JSESSIONID=" + marker},
	{"invalid UTF-8 FOREMAN-USER", "FOREMAN-USER", "\xff\xfe"},
	{"Prefer garbage", "Prefer", "persistent-auth; =;;,,\"unterminated"},
}

// queryAttacks are hostile xCAT-style query strings (and paths).
var queryAttacks = []struct{ name, path string }{
	{"duplicate userPW", "/xcatws/nodes?userName=wsuser&userPW=" + marker + "&userPW=x"},
	{"invalid UTF-8 userName", "/xcatws/nodes?userName=%ff%fe&userPW=" + marker},
	{"NUL userName", "/xcatws/nodes?userName=ws%00user&userPW=" + marker},
	{"legacy password alone", "/xcatws/nodes?password=" + marker},
	{"bad escape", "/xcatws/nodes?userName=%zz&userPW=" + marker},
	{"dot-dot", "/api/../xcatws/nodes"},
	{"encoded dot-dot", "/api/%2e%2e/xcatws/nodes"},
	{"double slash", "/ovirt-engine//api"},
	{"encoded slash traversal", "/ovirt-engine/api/..%2f..%2fapi"},
	{"access_token in query", "/ovirt-engine/api?access_token=" + marker},
	{"5000 segments", "/api/" + strings.Repeat("a/", 5000)},
}

// bodyAttacks are hostile bodies for the two token endpoints.
var bodyAttacks = []struct{ name, contentType, body string }{
	{"JSON bomb", "application/json", strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
	{"truncated JSON", "application/json", `{"userName":"wsuser","userPW":"` + marker},
	{"JSON wrong types", "application/json", `{"userName":["wsuser"],"userPW":{"x":"` + marker + `"}}`},
	{"JSON invalid UTF-8", "application/json", "{\"userName\":\"\xff\",\"userPW\":\"" + marker + "\"}"},
	{"JSON duplicate keys", "application/json", `{"userName":"wsuser","userName":"root","userPW":"` + marker + `"}`},
	{"wrong content type", "text/plain", "userName=wsuser&userPW=" + marker},
	{"form without grant", "application/x-www-form-urlencoded", "username=admin%40internal&password=" + marker},
	{"form bad grant", "application/x-www-form-urlencoded", "grant_type=client_credentials&username=admin%40internal&password=" + marker},
	{"form duplicate grant", "application/x-www-form-urlencoded", "grant_type=password&grant_type=refresh_token&username=admin%40internal&password=" + marker},
	{"form bad escape", "application/x-www-form-urlencoded", "grant_type=password&username=%zz&password=" + marker},
	{"form NUL username", "application/x-www-form-urlencoded", "grant_type=password&scope=ovirt-app-api&username=ad%00min&password=" + marker},
	{"form wrong scope", "application/x-www-form-urlencoded", "grant_type=password&scope=root&username=admin%40internal&password=" + marker},
	{"2 MiB body", "application/x-www-form-urlencoded", "grant_type=password&password=" + strings.Repeat("a", 2<<20)},
	{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + marker + "\r\n--x--\r\n"},
}

// rawAttacks are requests net/http's client would not send.
var rawAttacks = []struct{ name, raw string }{
	{"duplicate Authorization", "GET %s HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Basic " + b64("wsuser:"+marker) + "\r\nAuthorization: Basic " + b64("admin:"+marker) + "\r\nConnection: close\r\n\r\n"},
	{"CR/LF in header value", "GET %s HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Basic x\rInjected: 1\r\nConnection: close\r\n\r\n"},
	{"NUL in header", "GET %s HTTP/1.1\r\nHost: {HOST}\r\nX-Auth-Token: a\x00b\r\nConnection: close\r\n\r\n"},
	{"CL and TE smuggling", "POST %s HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /api/status HTTP/1.1\r\n\r\n"},
	{"1 MiB header", "GET %s HTTP/1.1\r\nHost: {HOST}\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\nConnection: close\r\n\r\n"},
	{"truncated body", "POST %s HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nConnection: close\r\n\r\ngrant_type=password&password=" + marker},
	{"space before colon", "GET %s HTTP/1.1\r\nHost: {HOST}\r\nAuthorization : Basic " + b64("wsuser:"+marker) + "\r\nConnection: close\r\n\r\n"},
	{"obsolete line folding", "GET %s HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Basic\r\n " + b64("wsuser:"+marker) + "\r\nConnection: close\r\n\r\n"},
}

// TestHostileRequests sends more than 150 malformed or hostile requests to
// every face: each is answered 4xx (never 5xx, never a panic), JSON bodies
// parse, and neither a response nor the audit or server log contains the
// password sent or any stored secret.
func TestHostileRequests(t *testing.T) {
	mux, logs, _ := hostileFaces(t, nil)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(logs, "http: ", 0)
	srv.Config.MaxHeaderBytes = 64 << 10
	srv.Config.ReadTimeout = 2 * time.Second // a truncated body is given up on, as serve does
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	client.Timeout = 10 * time.Second

	// An attacker's certificate from another CA.
	other, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "attacker"})
	evil, _ := other.IssueClient("alice", mtls.LeafOptions{})
	evilClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, Certificates: []tls.Certificate{evil.TLSCertificate()}}}}

	var cases []hostile
	for _, target := range faceTargets {
		for _, h := range authHeaders {
			cases = append(cases, hostile{name: target.face + " " + target.path + ": " + h.name, req: func(base string) *http.Request {
				r, _ := http.NewRequest(target.method, base+target.path, strings.NewReader(""))
				r.Header.Set(h.header, h.value)
				return r
			}})
		}
		for _, a := range rawAttacks {
			cases = append(cases, hostile{name: target.face + " " + target.path + ": " + a.name, raw: fmt.Sprintf(a.raw, target.path)})
		}
	}
	for _, q := range queryAttacks {
		cases = append(cases, hostile{name: q.name, req: func(base string) *http.Request {
			r, _ := http.NewRequest("GET", base+q.path, nil)
			return r
		}})
	}
	for _, endpoint := range []string{"/xcatws/tokens", preset.OVirtTokenPath} {
		for _, a := range bodyAttacks {
			cases = append(cases, hostile{name: endpoint + ": " + a.name, req: func(base string) *http.Request {
				r, _ := http.NewRequest("POST", base+endpoint, strings.NewReader(a.body))
				r.Header.Set("Content-Type", a.contentType)
				return r
			}})
		}
	}
	if len(cases) < 150 {
		t.Fatalf("only %d hostile requests", len(cases))
	}

	host := strings.TrimPrefix(srv.URL, "https://")
	for _, c := range cases {
		var status int
		var body, contentType string
		if c.raw != "" {
			conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			go func() { _, _ = io.WriteString(conn, strings.ReplaceAll(c.raw, "{HOST}", host)) }()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				conn.Close()
				t.Errorf("%s: no HTTP response: %v", c.name, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			conn.Close()
			status, body, contentType = resp.StatusCode, string(b), resp.Header.Get("Content-Type")
		} else {
			resp, err := client.Do(c.req(srv.URL))
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body, contentType = resp.StatusCode, string(b), resp.Header.Get("Content-Type")
		}
		if status < 400 || status > 499 {
			t.Errorf("%s: status %d, want 4xx: %.200s", c.name, status, body)
		}
		if strings.Contains(contentType, "json") && !json.Valid([]byte(body)) {
			t.Errorf("%s: invalid JSON body %.200q", c.name, body)
		}
		for _, secret := range append([]string{marker}, storedSecrets...) {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the response contains a secret: %.300s", c.name, body)
			}
		}
	}
	// A certificate from another CA: refused at the handshake or 401.
	if resp, err := evilClient.Get(srv.URL + "/v1/configuration/containers"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("certificate from another CA: %d", resp.StatusCode)
		}
	}
	text := logs.String()
	for _, secret := range append([]string{marker}, storedSecrets...) {
		if strings.Contains(text, secret) {
			i := strings.Index(text, secret)
			t.Errorf("the log contains a secret near: %q", text[max(0, i-200):min(len(text), i+50)])
		}
	}
	if strings.Contains(text, "panic") {
		t.Errorf("a handler panicked: %s", text)
	}
	t.Logf("%d hostile requests, %d bytes of log", len(cases), len(text))
}

// hostileFaces serves the four faces over one store with the fixture's
// users, consumer and CA, every request allowed by the rule table, into a
// handler that answers "reached"; the audit log goes to the returned
// buffer, and the CA signs the client certificates Flocker's face takes.
// slots, when set, bound the hashes.
func hostileFaces(tb testing.TB, slots *pwcheck.HashSlots) (*http.ServeMux, *syncbuf.Buffer, *mtls.CA) {
	tb.Helper()
	store := authtest.Users(
		authtest.User{Login: "wsuser", Password: "cluster-secret"},
		authtest.User{Login: "admin", Password: "satellite-pw"},
		authtest.User{Login: "admin@internal", Password: "ovirt-pw"},
		authtest.User{Login: "alice"})
	ctx := context.Background()
	if err := store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}); err != nil {
		tb.Fatal(err)
	}
	if err := store.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "katello-secret-2f6b1c"}); err != nil {
		tb.Fatal(err)
	}
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "hostile"})
	if err != nil {
		tb.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	p := preset.New(preset.From(store), preset.Options{CA: ca, HashSlots: slots, Env: auth.Env{Audit: slog.New(slog.NewJSONHandler(logs, nil))}})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("reached")) })
	mux := http.NewServeMux()
	mux.Handle(preset.XCATPrefix, p.XCAT(ok))
	mux.Handle(preset.SatellitePrefix, p.Satellite(ok))
	mux.Handle(preset.OVirtPrefix, p.OVirt(ok))
	mux.Handle(preset.FlockerPrefix, p.Flocker(ok))
	return mux, logs, ca
}

// Attack (failed before the fix: 201, a never-expiring PAT that then
// worked on the Satellite face): an oVirt JSESSIONID from a bearer login,
// its token revoked, sent as the self-service page's cookie. The page and
// the API share the session store; a page session comes only from a
// password typed on the page, and an API session is never one.
func TestAPISessionIsNoPageSession(t *testing.T) {
	f := authtest.New(t)
	mux := http.NewServeMux()
	mux.Handle(preset.OVirtPrefix, f.Presets.OVirt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	mux.Handle(preset.SelfServicePrefix, f.Presets.SelfService())
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	res, err := c.PostForm(srv.URL+"/ovirt-engine/sso/oauth/token", map[string][]string{"grant_type": {"password"},
		"scope": {"ovirt-app-api"}, "username": {authtest.OVirtUser}, "password": {authtest.OVirtPassword}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("no access token: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Prefer", "persistent-auth")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var jsession string
	for _, ck := range res.Cookies() {
		if ck.Name == "JSESSIONID" {
			jsession = ck.Value
		}
	}
	if jsession == "" {
		t.Fatalf("no JSESSIONID from a persistent-auth bearer login: %d", res.StatusCode)
	}
	if err := f.Presets.Tokens().RevokeSecret(context.Background(), tok.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	const csrf = "0123456789abcdef0123456789abcdef0123456789a"
	for _, live := range []bool{false, true} {
		if live { // a session whose token still works is no page session either
			req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
			req.SetBasicAuth(authtest.OVirtUser, authtest.OVirtPassword)
			req.Header.Set("Prefer", "persistent-auth")
			res, _ := c.Do(req)
			res.Body.Close()
			for _, ck := range res.Cookies() {
				if ck.Name == "JSESSIONID" {
					jsession = ck.Value
				}
			}
		}
		req, _ = http.NewRequest("POST", srv.URL+"/ui/tokens", strings.NewReader("csrf="+csrf+"&name=minted&days=0"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "gatehouse_ui="+jsession+"; gatehouse_csrf="+csrf)
		res, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusCreated {
			t.Errorf("an API session (live %v) minted a PAT on the self-service page", live)
		}
	}
	pats, err := f.Presets.Tokens().List(context.Background(), authtest.OVirtUser, stores.TokenPAT)
	if err != nil {
		t.Fatal(err)
	}
	if len(pats) != 0 {
		t.Errorf("%d PATs made from an API session", len(pats))
	}
}

// An OAuth 1 request with an unknown consumer: Foreman's words, and which
// consumer, not an empty user name (the same words as a bad signature).
func TestSatelliteSaysWhichConsumer(t *testing.T) {
	f := authtest.New(t)
	srv := f.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
	c := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: "ghost-consumer",
		ConsumerSecret: "ghost-secret-0123456789", User: authtest.SatelliteUser, Base: srv.Client().Transport})
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(string(b), `Unable to authenticate user: invalid consumer key or signature for consumer \"ghost-consumer\"`) {
		t.Errorf("%d %s", res.StatusCode, b)
	}
}
