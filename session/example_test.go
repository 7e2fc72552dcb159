package session_test

import (
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/session"
)

// Example wraps Basic with oVirt's persistent-auth sessions: log in once with
// "Prefer: persistent-auth", then the JSESSIONID cookie alone authenticates.
func Example() {
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	sessions := session.New(session.Config{Store: store, Users: store},
		basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: store}), Realm: "RESTAPI"}))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
	})
	srv := httptest.NewTLSServer(auth.Middleware(sessions, auth.Config{})(api))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)

	for i, login := range []bool{true, false} {
		req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
		req.Header.Set("Prefer", "persistent-auth")
		if login {
			req.SetBasicAuth("admin@internal", "ovirt-pw")
		}
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(i+1, resp.StatusCode, string(body))
	}
	// Output:
	// 1 200 admin@internal via basic
	// 2 200 admin@internal via session
}
