package preset_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/token"
)

// Example makes a service speak oVirt's and xCAT's authentication: one
// call per face over one store, plus the mux.
func Example() {
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"}, authtest.User{Login: "wsuser", Password: "cluster-secret"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
	})

	p := preset.New(preset.From(store), preset.Options{})
	mux := http.NewServeMux()
	mux.Handle(preset.OVirtPrefix, p.OVirt(api))
	mux.Handle(preset.XCATPrefix, p.XCAT(api))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	// oVirt's SSO: a password grant, then the bearer token.
	resp, _ := srv.Client().PostForm(srv.URL+preset.OVirtTokenPath, url.Values{
		"grant_type": {"password"}, "scope": {"ovirt-app-api"}, "username": {"admin@internal"}, "password": {"ovirt-pw"}})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := strings.Split(strings.Split(string(body), `"access_token":"`)[1], `"`)[0]
	req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = srv.Client().Do(req)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	// xCAT's query credentials.
	resp, _ = srv.Client().Get(srv.URL + "/xcatws/nodes?userName=wsuser&userPW=cluster-secret")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body), resp.Header.Get("Deprecation") != "")
	// Output:
	// admin@internal via oauth2
	// wsuser via query true
}

// Example_satellite gives a service Satellite's authentication: hammer's
// OAuth 1 with FOREMAN-USER, and Basic with a password or a personal
// access token.
func Example_satellite() {
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	_ = store.PutConsumer(context.Background(), stores.Consumer{Key: "katello", Secret: "katello-secret-2f6b1c"})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
	})
	p := preset.New(preset.From(store), preset.Options{})
	srv := httptest.NewTLSServer(p.Satellite(api))
	defer srv.Close()
	pat, _ := p.Tokens().CreatePAT(context.Background(), token.PATSpec{Login: "admin", Name: "ci"})

	req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
	req.SetBasicAuth("admin", pat.Secret)
	resp, _ := srv.Client().Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	hammer := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{
		ConsumerKey: "katello", ConsumerSecret: "katello-secret-2f6b1c", User: "admin", Base: srv.Client().Transport})
	resp, _ = hammer.Get(srv.URL + "/api/status")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output:
	// admin via pat
	// admin via oauth1
}
