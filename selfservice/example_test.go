package selfservice_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/selfservice"
	"github.com/gatehouse/gatehouse/token"
)

// Example mounts the self-service page next to an API; a browser signs in
// with the form (or, as here, HTTP Basic) and manages its tokens.
func Example() {
	store := authtest.Users(authtest.User{Login: "alice", Password: "alice-pw"})
	tokens := token.New(token.Config{Store: store, Users: store})
	mux := http.NewServeMux()
	mux.Handle("/ui/", selfservice.New(selfservice.Config{Tokens: tokens,
		Passwords: pwcheck.New(pwcheck.Config{Users: store, Counter: store}), Users: store, Sessions: store}))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/ui/", nil)
	req.SetBasicAuth("alice", "alice-pw")
	res, _ := srv.Client().Do(req)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, strings.Contains(string(page), "You have no personal access tokens yet."))
	fmt.Println(res.Header.Get("Content-Security-Policy") != "", res.Header.Get("Cache-Control"))
	// Output:
	// 200 true
	// true no-store
}
