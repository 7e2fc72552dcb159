package oauth2_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/token"
)

// ExampleRequireScope refuses a bearer token without the route's scope
// with RFC 6750's 403 insufficient_scope, and says which scope is needed.
func ExampleRequireScope() {
	store := authtest.Users(authtest.User{Login: "admin@internal"})
	tokens := token.New(token.Config{Store: store, Users: store})
	bearer := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens(), Realm: "RESTAPI"})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	srv := httptest.NewTLSServer(auth.Middleware(bearer, auth.Config{Policy: oauth2.RequireScope("RESTAPI", "ovirt-app-api")})(api))
	defer srv.Close()

	for _, scopes := range [][]string{{"ovirt-app-api"}, {"reports"}} {
		issued, _ := tokens.IssueAccess(context.Background(), &auth.Identity{User: "admin", Domain: "internal"}, scopes)
		req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
		req.Header.Set("Authorization", "Bearer "+issued.Secret)
		res, _ := srv.Client().Do(req)
		res.Body.Close()
		fmt.Printf("%v %d %q\n", scopes, res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	// Output:
	// [ovirt-app-api] 200 ""
	// [reports] 403 "Bearer realm=\"RESTAPI\", error=\"insufficient_scope\", scope=\"ovirt-app-api\""
}
