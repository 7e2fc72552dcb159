package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/preset"
)

// ExampleNew puts an xCAT face in front of a service gatehouse does not
// link into: the service sees who called, and no password.
func ExampleNew() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s scheme=%s authorization=%q", r.Header.Get("X-Gatehouse-User"),
			r.Header.Get("X-Gatehouse-Scheme"), r.Header.Get("Authorization"))
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)

	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	p := preset.New(preset.From(store), preset.Options{})
	srv := httptest.NewTLSServer(p.XCAT(gateway.New(gateway.Config{Upstream: u})))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/xcatws/nodes", nil)
	req.SetBasicAuth("wsuser", "cluster-secret")
	req.Header.Set("X-Gatehouse-User", "root") // a client's own claim never passes
	res, _ := srv.Client().Do(req)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(string(body))
	// Output: user=wsuser scheme=basic authorization=""
}

// ExampleForwardAuth answers a proxy (nginx's auth_request here) about a
// request it holds: 200 with the identity for the proxy to pass on, or the
// face's refusal with its challenge.
func ExampleForwardAuth() {
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	p := preset.New(preset.From(store), preset.Options{})
	faces := p.Satellite(gateway.Allow(gateway.Headers{}, nil, nil))
	verify := gateway.ForwardAuth(gateway.ForwardAuthConfig{
		Proxies: gateway.Proxies{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}, faces)
	srv := httptest.NewServer(verify) // the proxy asks over loopback
	defer srv.Close()

	for _, pw := range []string{"satellite-pw", "wrong"} {
		req, _ := http.NewRequest("GET", srv.URL+"/auth/verify", nil)
		req.Header.Set("X-Original-URI", "/api/hosts")
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.SetBasicAuth("admin", pw)
		res, _ := http.DefaultClient.Do(req)
		res.Body.Close()
		fmt.Println(res.StatusCode, res.Header.Get("X-Gatehouse-User"), res.Header.Get("WWW-Authenticate") != "")
	}
	// Output:
	// 200 admin false
	// 401  true
}
