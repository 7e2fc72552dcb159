package oauth2_test

import (
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/token"
)

// Example serves oVirt's SSO token endpoint and an API behind bearer tokens
// with the mandatory ovirt-app-api scope, and calls it with the client helper
// (x/oauth2's password grant underneath).
func Example() {
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	tokens := token.New(token.Config{Store: store, Users: store})
	mux := http.NewServeMux()
	mux.Handle("/ovirt-engine/sso/oauth/token", oauth2.NewTokenEndpoint(oauth2.EndpointConfig{
		Tokens: tokens, Passwords: &pwcheck.Pipeline{Verifier: pwcheck.NewCache(pwcheck.CacheConfig{Next: &pwcheck.StoreVerifier{Users: store}, Users: store})}, Scopes: []string{"ovirt-app-api"}, RequireScope: true,
	}))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s", id.Login())
	})
	mux.Handle("/ovirt-engine/api/", auth.Middleware(oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()}), auth.Config{Policy: oauth2.RequireScope("", "ovirt-app-api")})(api))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	client, err := oauth2.NewPasswordClient(context.Background(), oauth2.PasswordClientConfig{
		TokenURL: srv.URL + "/ovirt-engine/sso/oauth/token", Username: "admin@internal", Password: "ovirt-pw",
		Scopes: []string{"ovirt-app-api"}, Base: srv.Client().Transport,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := client.Get(srv.URL + "/ovirt-engine/api/vms")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello admin@internal
}
