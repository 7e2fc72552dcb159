package basic_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/token"
)

// ExampleConfig_domains takes oVirt's user@domain logins: the domain must
// be one of Domains, and a bare login gets DefaultDomain.
func ExampleConfig_domains() {
	users := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	cfg := basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: users}), Realm: "RESTAPI",
		Domains: []string{"internal"}, DefaultDomain: "internal"}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s (domain %s)", id.User, id.Domain)
	})
	srv := httptest.NewTLSServer(auth.Middleware(basic.New(cfg), auth.Config{})(api))
	defer srv.Close()

	for _, login := range []string{"admin@internal", "admin", "admin@other"} {
		req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
		req.SetBasicAuth(login, "ovirt-pw")
		show(srv.Client().Do(req))
	}
	// Output:
	// 200 admin (domain internal)
	// 200 admin (domain internal)
	// 401 Basic realm="RESTAPI", charset="UTF-8"
}

// ExampleConfig_pats accepts Satellite's personal access tokens in place
// of the password (curl --user admin:TOKEN); revoking one bites on the
// next request.
func ExampleConfig_pats() {
	users := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	tokens := token.New(token.Config{Store: users, Users: users})
	cfg := basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: users}), Tokens: tokens.PATs()}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.User, id.Scheme)
	})
	srv := httptest.NewTLSServer(auth.Middleware(basic.New(cfg), auth.Config{})(api))
	defer srv.Close()

	pat, _ := tokens.CreatePAT(context.Background(), token.PATSpec{Login: "admin", Name: "ci"})
	get := func() {
		req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
		req.SetBasicAuth("admin", pat.Secret)
		show(srv.Client().Do(req))
	}
	get()
	_ = tokens.Revoke(context.Background(), "admin", pat.Token.ID)
	get()
	// Output:
	// 200 admin via pat
	// 401 Basic realm="gatehouse", charset="UTF-8"
}
