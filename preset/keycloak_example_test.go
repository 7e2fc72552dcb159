package preset_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/preset"
)

// ExampleOptions_verifiers gives the oVirt face Keycloak's tokens beside
// its own, through preset's options only: one more token verifier for
// every face's Bearer and X-Auth-Token. A Keycloak token needs scope
// ovirt-app-api on the oVirt face, as the face's own tokens do.
func ExampleOptions_verifiers() {
	// A stand-in for Keycloak: discovery and one signing key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pt, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	var idp *httptest.Server
	idp = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": idp.URL, "jwks_uri": idp.URL + "/jwks"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "EC", "kid": "k1", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:])}}})
	}))
	defer idp.Close()
	keycloakToken := func(scope string) string {
		t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": idp.URL, "aud": "ovirt-engine",
			"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(), "preferred_username": "alice", "scope": scope})
		t.Header["kid"] = "k1"
		s, _ := t.SignedString(key)
		return s
	}

	keycloak, _ := oidc.New(oidc.Config{Issuer: idp.URL, Audience: "ovirt-engine", Domain: "internal", HTTPClient: idp.Client()})
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	p := preset.New(preset.From(store), preset.Options{Verifiers: []auth.TokenVerifier{keycloak}})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.Login(), id.Scheme)
	})
	srv := httptest.NewTLSServer(p.OVirt(api))
	defer srv.Close()

	for _, scope := range []string{"openid ovirt-app-api", "openid"} {
		req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
		req.Header.Set("Authorization", "Bearer "+keycloakToken(scope))
		resp, _ := srv.Client().Do(req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(string(body))
		} else {
			fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Output:
	// alice@internal via oauth2
	// 403 Bearer realm="RESTAPI", error="insufficient_scope", scope="ovirt-app-api"
}
