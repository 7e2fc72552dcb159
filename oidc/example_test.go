package oidc_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/oidc"
)

// Example accepts a Keycloak realm's access tokens next to gatehouse's own
// schemes: one more authenticator in the chain. (The provider is asked for
// its keys only when a token arrives; this token is refused before that.)
func Example() {
	keycloak, err := oidc.New(oidc.Config{
		Issuer:      "https://sso.example/realms/ovirt",
		Audience:    "ovirt-engine",
		GroupsClaim: "groups",
		Domain:      "internal",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	// One Bearer transport takes Keycloak's tokens and, beside them, the
	// service's own (tokens.AccessTokens()) when they join the union.
	bearer := oauth2.NewBearer(oauth2.BearerConfig{Verifier: auth.Union(keycloak /* , tokens.AccessTokens() */)})
	h := auth.Middleware(bearer, auth.Config{})(api)

	r := httptest.NewRequest("GET", "https://api.example/ovirt-engine/api", nil)
	r.Header.Set("Authorization", "Bearer not.a.jwt")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="gatehouse", error="invalid_token", error_description="invalid token"
}
