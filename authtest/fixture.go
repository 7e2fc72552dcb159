package authtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// The fixture's known credentials, one account per product face.
const (
	XCATUser          = "wsuser"
	XCATPassword      = "cluster-secret"
	SatelliteUser     = "admin"
	SatellitePassword = "satellite-pw"
	OVirtUser         = "admin@internal"
	OVirtPassword     = "ovirt-pw"
	CertUser          = "alice" // no password: client certificates only
	ConsumerKey       = "katello"
	ConsumerSecret    = "katello-secret-2f6b1c"
)

// Fixture is everything a test of a service behind gatehouse needs: an
// in-memory store with one user per face (cheap hashes, checked in Slots,
// without a CPU budget), an allow-all
// policy, an OAuth 1 consumer, a cluster CA, a personal access token for
// SatelliteUser, and the product faces (package preset) over them. Make it
// with New.
type Fixture struct {
	Store   memstore.Store
	CA      *mtls.CA
	Presets *preset.Presets
	// Clock is the time of the faces and the store: Add moves past an
	// expiry (tokens, sessions, OAuth 1 timestamps, certificates).
	Clock *Clock
	// PAT is a personal access token of SatelliteUser (Basic password on
	// the Satellite face).
	PAT string
	tb  testing.TB
	certState
}

// New builds a Fixture; it fails tb on any error.
func New(tb testing.TB) *Fixture {
	tb.Helper()
	s := Users(
		User{Login: XCATUser, Password: XCATPassword},
		User{Login: SatelliteUser, Password: SatellitePassword},
		User{Login: OVirtUser, Password: OVirtPassword},
		User{Login: CertUser})
	ctx := context.Background()
	if err := s.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}); err != nil {
		tb.Fatal(err)
	}
	if err := s.PutConsumer(ctx, stores.Consumer{Key: ConsumerKey, Secret: ConsumerSecret}); err != nil {
		tb.Fatal(err)
	}
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "authtest"})
	if err != nil {
		tb.Fatal(err)
	}
	f := &Fixture{Store: s, CA: ca, Clock: NewClock(time.Now()), tb: tb}
	s.SetClock(f.Clock.Now)
	f.Presets = preset.New(preset.From(s), preset.Options{CA: ca, Env: auth.Env{Now: f.Clock.Now}, HashSlots: Slots})
	pat, err := f.Presets.Tokens().CreatePAT(ctx, token.PATSpec{Login: SatelliteUser, Name: "authtest"})
	if err != nil {
		tb.Fatal(err)
	}
	f.PAT = pat.Secret
	return f
}

// Server is an HTTPS test server with every face mounted over a handler.
type Server struct {
	*httptest.Server
	f *Fixture
}

// NewTLSServer serves api behind all four faces (xCAT under /xcatws/,
// Satellite under /api/, oVirt under /ovirt-engine/, Flocker under /v1/),
// with a server certificate from the fixture's CA that asks for client
// certificates. It is closed when the test ends.
func (f *Fixture) NewTLSServer(api http.Handler) *Server {
	srv := httptest.NewUnstartedServer(f.Handler(api))
	cert, err := f.CA.IssueServer("authtest", []string{"127.0.0.1", "localhost"}, mtls.LeafOptions{})
	if err != nil {
		f.tb.Fatal(err)
	}
	srv.TLS = mtls.ServerTLSConfig(f.CA.ServerCertificate(cert), f.CA.Pool(), tls.VerifyClientCertIfGiven)
	srv.StartTLS()
	f.tb.Cleanup(srv.Close)
	return &Server{Server: srv, f: f}
}

// Handler is api behind all four faces, as NewTLSServer serves it, for
// tests that call it directly (ServeRaw).
func (f *Fixture) Handler(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(preset.XCATPrefix, f.Presets.XCAT(api))
	mux.Handle(preset.SatellitePrefix, f.Presets.Satellite(api))
	mux.Handle(preset.OVirtPrefix, f.Presets.OVirt(api))
	mux.Handle(preset.FlockerPrefix, f.Presets.Flocker(api))
	mux.Handle("GET /ca.crt", f.Presets.CA())
	return mux
}

// Client is an HTTPS client that trusts the fixture's CA (and sends no
// credentials).
func (s *Server) Client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.f.CA.Pool()}}}
}

func (s *Server) request(method, path string) *http.Request {
	r, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		s.f.tb.Fatal(err)
	}
	return r
}

// Basic is a request with HTTP Basic credentials.
func (s *Server) Basic(method, path, login, password string) *http.Request {
	r := s.request(method, path)
	r.SetBasicAuth(login, password)
	return r
}

// Query is a request with xCAT's userName/userPW query credentials.
func (s *Server) Query(method, path, login, password string) *http.Request {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return s.request(method, path+sep+"userName="+url.QueryEscape(login)+"&userPW="+url.QueryEscape(password))
}

// PATBasic is a request to the Satellite face with the fixture's PAT as the
// Basic password.
func (s *Server) PATBasic(method, path string) *http.Request {
	return s.Basic(method, path, SatelliteUser, s.f.PAT)
}

// XAuthToken gets an access token for the xCAT user from POST
// /xcatws/tokens and returns a request that sends it as X-Auth-Token.
func (s *Server) XAuthToken(method, path string) *http.Request {
	body := `{"userName":"` + XCATUser + `","userPW":"` + XCATPassword + `"}`
	var out struct{ Token struct{ ID string } }
	s.postJSON(preset.XCATPrefix+"tokens", "application/json", body, &out)
	if out.Token.ID == "" {
		s.f.tb.Fatal("authtest: no token from /xcatws/tokens")
	}
	r := s.request(method, path)
	r.Header.Set("X-Auth-Token", out.Token.ID)
	return r
}

// Bearer gets an oVirt SSO token (password grant, scope ovirt-app-api)
// and returns a request that sends it as a Bearer token.
func (s *Server) Bearer(method, path string) *http.Request {
	form := url.Values{"grant_type": {"password"}, "scope": {preset.OVirtScope}, "username": {OVirtUser}, "password": {OVirtPassword}}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	s.postJSON(preset.OVirtTokenPath, "application/x-www-form-urlencoded", form.Encode(), &out)
	if out.AccessToken == "" {
		s.f.tb.Fatal("authtest: no access token from the oVirt token endpoint")
	}
	r := s.request(method, path)
	r.Header.Set("Authorization", "Bearer "+out.AccessToken)
	return r
}

func (s *Server) postJSON(path, contentType, body string, out any) {
	resp, err := s.Client().Post(s.URL+path, contentType, strings.NewReader(body))
	if err != nil {
		s.f.tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		s.f.tb.Fatalf("authtest: %s answered %d: %v", path, resp.StatusCode, err)
	}
}

// OAuth1Client signs every request as Satellite's clients do (HMAC-SHA1,
// github.com/dghubble/oauth1) with the fixture's consumer, acting as user
// through FOREMAN-USER; signed also puts the user in the signed
// xoauth_requestor_id (for consumers in strict mode).
func (s *Server) OAuth1Client(user string, signed bool) *http.Client {
	c := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: ConsumerKey, ConsumerSecret: ConsumerSecret,
		User: user, Signed: signed, Base: s.Client().Transport})
	c.Timeout = 10 * time.Second
	return c
}

// SessionClient logs in to oVirt's API with Basic and Prefer:
// persistent-auth and returns a client whose cookie jar holds the session:
// its requests need no credentials (send Prefer: persistent-auth to keep
// the session).
func (s *Server) SessionClient() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.f.tb.Fatal(err)
	}
	c := s.Client()
	c.Jar = jar
	r := s.Basic("GET", preset.OVirtPrefix+"api", OVirtUser, OVirtPassword)
	r.Header.Set("Prefer", "persistent-auth")
	resp, err := c.Do(r)
	if err != nil {
		s.f.tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(jar.Cookies(r.URL)) == 0 {
		s.f.tb.Fatalf("authtest: persistent-auth login answered %d without a cookie", resp.StatusCode)
	}
	return c
}

// CertClient presents a client certificate for name (CN user-<name>) from
// the fixture's CA.
func (s *Server) CertClient(name string) *http.Client {
	cert, err := s.f.CA.IssueClient(name, mtls.LeafOptions{})
	if err != nil {
		s.f.tb.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: s.f.CA.Pool(), Certificates: []tls.Certificate{cert.TLSCertificate()}}}}
}

// AssertChallenge fails t unless res is a 401 whose WWW-Authenticate
// headers offer scheme (e.g. "Basic", "Bearer", "OAuth").
func AssertChallenge(t testing.TB, res *http.Response, scheme string) {
	t.Helper()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401 with a %s challenge", res.StatusCode, scheme)
		return
	}
	for _, v := range res.Header.Values("WWW-Authenticate") {
		for _, part := range strings.Split(v, ",") {
			if f := strings.Fields(part); len(f) > 0 && strings.EqualFold(f[0], scheme) {
				return
			}
		}
	}
	t.Errorf("no %s challenge in WWW-Authenticate %q", scheme, res.Header.Values("WWW-Authenticate"))
}

// AssertRefused fails t unless res has status and an error body in
// dialect, e.g. "my endpoint refuses an expired token the oVirt way":
//
//	res, _ := srv.Client().Do(req)
//	authtest.AssertRefused(t, res, 401, "problem")
//
// The dialects are "problem" (RFC 9457 problem+json: the default, and
// oVirt's API), "xcat" ({"error":"…","errorcode":"…"}), "foreman"
// ({"error":{"message":"…"}}, Satellite) and "ovirt-sso" (oVirt's token
// endpoint: {"error":"…","error_description":"…","error_code":"…"}). It
// reads the body and puts it back for further checks.
func AssertRefused(t testing.TB, res *http.Response, status int, d string) {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		t.Errorf("reading the body: %v", err)
		return
	}
	if res.StatusCode != status {
		t.Errorf("status %d, want %d (%.200s)", res.StatusCode, status, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("the body is not %s JSON: %.200q", d, b)
		return
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	ok := false
	switch d {
	case "problem":
		n, _ := m["status"].(float64)
		ok = strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") && int(n) == status && str("title") != ""
	case "xcat":
		ok = str("error") != "" && str("errorcode") != ""
	case "foreman":
		e, _ := m["error"].(map[string]any)
		msg, _ := e["message"].(string)
		ok = msg != ""
	case "ovirt-sso":
		ok = str("error") != "" && m["error_code"] != nil
	default:
		t.Errorf("authtest.AssertRefused: unknown dialect %q", d)
		return
	}
	if !ok {
		t.Errorf("the body is not a %s error: %.200s", d, b)
	}
}
