package authtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/token"
)

// Example sets up users with cheap hashes, a controllable clock and a token
// service, the way a service's own tests would.
func Example() {
	store := authtest.Users(
		authtest.User{Login: "wsuser", Password: "cluster-secret", Groups: []string{"admin"}},
		authtest.User{Login: "admin@internal", Password: "ovirt-pw"},
	)
	clock := authtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tokens := token.New(token.Config{Store: store, Users: store, Env: auth.Env{Now: clock.Now}})

	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: store})})
	req := httptest.NewRequest("GET", "https://api.example/", nil)
	req.SetBasicAuth("wsuser", "cluster-secret")
	res, err := a.Authenticate(req)
	id := res.Identity
	fmt.Println(id.User, id.Groups, err)

	issued, _ := tokens.IssueAccess(context.Background(), id, nil)
	clock.Add(25 * time.Hour) // past the one-day default
	_, err = tokens.Verify(context.Background(), issued.Secret, token.PrefixAccess, auth.SchemeToken)
	fmt.Println(auth.AsError(err).Reason)
	// Output:
	// wsuser [admin] <nil>
	// expired
}

// ExampleServeRaw serves a request given as bytes, as a fuzz test of a
// service behind gatehouse would (f.Fuzz(func(t *testing.T, raw []byte) {
// rec := authtest.ServeRaw(h, raw, conn); … })): the same Basic request
// over TLS, over plain HTTP, and bytes that are not a request at all.
func ExampleServeRaw() {
	users := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "reached") })
	h := auth.Middleware(basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: users, Slots: authtest.Slots})}), auth.Config{})(api)
	raw := []byte("GET /api HTTP/1.1\r\nHost: api.example\r\nAuthorization: Basic d3N1c2VyOmNsdXN0ZXItc2VjcmV0\r\n\r\n")

	fmt.Println(authtest.ServeRaw(h, raw, authtest.Conn{TLS: true}).Code)
	fmt.Println(authtest.ServeRaw(h, raw, authtest.Conn{}).Code) // credentials over plain HTTP
	fmt.Println(authtest.ServeRaw(h, []byte("GET /api HTTP/1.1\r\nHost"), authtest.Conn{TLS: true}) == nil)
	// Output:
	// 200
	// 403
	// true
}
