package oauth2_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/token"
)

// TestCertificateBoundTokens (RFC 8705) over a real TLS listener that asks
// for client certificates: a password grant made with alice's certificate
// issues a token bound to it. Replayed without a certificate, or with
// another one, it is refused with 401 invalid_token — on the bearer API
// and as an X-Auth-Token; with alice's certificate it works; it opens no
// persistent-auth session; introspection shows its cnf; a grant made
// without a certificate stays a plain bearer token.
func TestCertificateBoundTokens(t *testing.T) {
	store := adminAndClient(t, "rs", "rs-secret-0123456789")
	tokens := token.New(token.Config{Store: store, Users: store})
	cfg := oauth2.EndpointConfig{Tokens: tokens, Passwords: pwcheck.New(pwcheck.Config{Users: store, Slots: authtest.Slots}), Scopes: []string{"ovirt-app-api"}}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("/token", oauth2.NewTokenEndpoint(cfg))
	cfg.Clients = store
	mux.Handle("/introspect", oauth2.NewIntrospectionEndpoint(cfg))
	bearer := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()})
	mux.Handle("/api", auth.Middleware(bearer, auth.Config{})(api))
	mux.Handle("/xcat", auth.Middleware(token.XAuthToken(tokens.AccessTokens()), auth.Config{})(api))
	sessions := session.New(session.Config{Store: store, Users: store, Tokens: tokens},
		auth.Chain(bearer, basic.New(basic.Config{Passwords: cfg.Passwords})))
	mux.Handle("/session", auth.Middleware(sessions, auth.Config{})(api))

	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "rfc8705"})
	srvCert, _ := ca.IssueServer("api", []string{"127.0.0.1"}, mtls.LeafOptions{})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(srvCert), ca.Pool(), tls.VerifyClientCertIfGiven)
	srv.StartTLS()
	defer srv.Close()
	client := func(name string) *http.Client {
		tc := &tls.Config{RootCAs: ca.Pool()}
		if name != "" {
			c, _ := ca.IssueClient(name, mtls.LeafOptions{})
			tc.Certificates = []tls.Certificate{c.TLSCertificate()}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	alice, bob, none := client("alice"), client("bob"), client("")

	grant := func(c *http.Client) string {
		ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, c)
		conf := &xoauth2.Config{ClientID: "sdk", Scopes: []string{"ovirt-app-api"},
			Endpoint: xoauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: xoauth2.AuthStyleInParams}}
		tok, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	call := func(c *http.Client, path, header, tok string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set(header, tok)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	bound := grant(alice)
	for _, tc := range []struct {
		who    string
		c      *http.Client
		status int
	}{{"alice", alice, 200}, {"no certificate", none, 401}, {"bob's certificate", bob, 401}} {
		res := call(tc.c, "/api", "Authorization", "Bearer "+bound)
		if res.StatusCode != tc.status {
			t.Errorf("bound token as bearer with %s: %d, want %d", tc.who, res.StatusCode, tc.status)
		}
		if tc.status == 401 && !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("with %s: challenge %q, want invalid_token", tc.who, res.Header.Get("WWW-Authenticate"))
		}
		if res := call(tc.c, "/xcat", "X-Auth-Token", bound); res.StatusCode != tc.status {
			t.Errorf("bound token as X-Auth-Token with %s: %d, want %d", tc.who, res.StatusCode, tc.status)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/session", nil)
	req.Header.Set("Authorization", "Bearer "+bound)
	req.Header.Set("Prefer", "persistent-auth")
	res, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || len(res.Cookies()) != 0 || !strings.Contains(res.Header.Get("Warning"), "certificate-bound") {
		t.Errorf("persistent-auth with a bound token: %d cookies %v warning %q", res.StatusCode, res.Cookies(), res.Header.Get("Warning"))
	}

	form := url.Values{"token": {bound}}
	ireq, _ := http.NewRequest("POST", srv.URL+"/introspect", strings.NewReader(form.Encode()))
	ireq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ireq.SetBasicAuth("rs", "rs-secret-0123456789")
	ires, err := none.Do(ireq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(ires.Body)
	ires.Body.Close()
	var got oauth2.Introspection
	_ = json.Unmarshal(body, &got)
	if !got.Active || got.Cnf["x5t#S256"] == "" {
		t.Errorf("introspection of a bound token: %s", body)
	}

	plain := grant(none)
	if res := call(bob, "/api", "Authorization", "Bearer "+plain); res.StatusCode != 200 {
		t.Errorf("an unbound token: %d, want 200", res.StatusCode)
	}
}
