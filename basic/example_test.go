package basic_test

import (
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
)

// Example protects a handler with HTTP Basic and xCAT-style query
// credentials over one user store, the way Satellite, oVirt and xCAT
// clients send them.
func Example() {
	users := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	cfg := basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: users}), Realm: "RESTAPI"}
	chain := auth.Chain(basic.New(cfg), basic.NewQuery(cfg, basic.QueryConfig{}))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.User, id.Scheme)
	})
	srv := httptest.NewTLSServer(auth.Middleware(chain, auth.Config{})(api))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	req.SetBasicAuth("wsuser", "cluster-secret") // curl --user wsuser:cluster-secret
	show(srv.Client().Do(req))
	show(srv.Client().Get(srv.URL + "/xcatws/nodes?userName=wsuser&userPW=cluster-secret"))
	show(srv.Client().Get(srv.URL + "/api"))
	// Output:
	// 200 wsuser via basic
	// 200 wsuser via query
	// 401 Basic realm="RESTAPI", charset="UTF-8"
}

func show(resp *http.Response, err error) {
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		return
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
}
