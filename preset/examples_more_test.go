package preset_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/token"
)

// Example_xcat gives a service xCAT's authentication: a token from POST
// /xcatws/tokens, then X-Auth-Token; errors in xCAT's JSON.
func Example_xcat() {
	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
	})
	p := preset.New(preset.From(store), preset.Options{})
	srv := httptest.NewTLSServer(p.XCAT(api))
	defer srv.Close()

	res, _ := srv.Client().Post(srv.URL+"/xcatws/tokens", "application/json",
		strings.NewReader(`{"userName":"wsuser","userPW":"cluster-secret"}`))
	var issued struct {
		Token struct{ ID string } `json:"token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&issued)
	res.Body.Close()

	for _, tok := range []string{issued.Token.ID, "gate_at_not-a-token"} {
		req, _ := http.NewRequest("GET", srv.URL+"/xcatws/nodes", nil)
		req.Header.Set("X-Auth-Token", tok)
		res, _ = srv.Client().Do(req)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 wsuser via token
	// 401 {"error":"Authentication failure","errorcode":"2"}
}

// Example_flocker gives a service Flocker's authentication: client
// certificates from the cluster CA, the user from the CN.
func Example_flocker() {
	store := authtest.Users(authtest.User{Login: "alice"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	ca, _ := mtls.NewCA(mtls.CAOptions{ClusterName: "example"})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
	})
	p := preset.New(preset.From(store), preset.Options{CA: ca})
	srv := httptest.NewUnstartedServer(p.Flocker(api))
	serverCert, _ := ca.IssueServer("api", []string{"127.0.0.1"}, mtls.LeafOptions{})
	srv.TLS = mtls.ServerTLSConfig(ca.ServerCertificate(serverCert), ca.Pool(), tls.VerifyClientCertIfGiven)
	srv.StartTLS()
	defer srv.Close()

	alice, _ := ca.IssueClient("alice", mtls.LeafOptions{})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()}}}}
	res, _ := client.Get(srv.URL + "/v1/configuration/containers")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(string(body))
	// Output: alice via mtls
}

// ExampleParseExpireDays reads xCAT's tokenexpiredays site setting.
func ExampleParseExpireDays() {
	for _, s := range []string{"1", "30", "never", "-2"} {
		d, err := preset.ParseExpireDays(s)
		fmt.Println(s, d, d == token.Never, err != nil)
	}
	// Output:
	// 1 24h0m0s false false
	// 30 720h0m0s false false
	// never -1ns true false
	// -2 0s false true
}
