package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestServeOIDC: serve --oidc-issuer/--oidc-audience/--oidc-ca takes an
// external provider's tokens (an in-test provider over TLS, standing in
// for Keycloak) on every face's Bearer and X-Auth-Token beside its own,
// sent with curl; the oVirt face still demands its scope, and a token of
// another issuer or signed by another key is refused.
func TestServeOIDC(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	var idp *httptest.Server
	idp = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/realms/ovirt/.well-known/openid-configuration" {
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": idp.URL + "/realms/ovirt", "jwks_uri": idp.URL + "/realms/ovirt/certs"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "EC", "kid": "k1", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:])}}})
	}))
	defer idp.Close()
	issuer := idp.URL + "/realms/ovirt"
	caFile := filepath.Join(t.TempDir(), "idp-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func(k *ecdsa.PrivateKey, iss, scope string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": iss, "aud": "ovirt-engine",
			"exp": time.Now().Add(5 * time.Minute).Unix(), "iat": time.Now().Unix(), "preferred_username": "alice", "scope": scope})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	data := t.TempDir()
	s := startServer(t, data, "--demo", "--oidc-issuer", issuer, "--oidc-audience", "ovirt-engine", "--oidc-ca", caFile, "--oidc-domain", "internal")
	ca := filepath.Join(data, "ca", "cluster.crt")
	curl := func(header, path string) (string, string) {
		out, err := exec.Command("curl", "-sS", "--cacert", ca, "-H", header, "-w", "\n%{http_code}", s.base+path).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		i := strings.LastIndexByte(string(out), '\n')
		return strings.TrimSpace(string(out)[i+1:]), string(out)[:max(i, 0)]
	}
	code, body := curl("Authorization: Bearer "+sign(key, issuer, "openid ovirt-app-api"), "/ovirt-engine/api")
	if code != "200" || !strings.Contains(body, `"user_name":"alice@internal"`) {
		t.Errorf("Keycloak's token on the oVirt face: %s %s", code, body)
	}
	if code, _ := curl("X-Auth-Token: "+sign(key, issuer, "openid"), "/xcatws/nodes"); code != "200" {
		t.Errorf("Keycloak's token as X-Auth-Token on the xCAT face: %s", code)
	}
	if code, _ := curl("Authorization: Bearer "+sign(key, issuer, "openid"), "/ovirt-engine/api"); code != "403" {
		t.Errorf("without ovirt-app-api: %s, want 403", code)
	}
	for name, tok := range map[string]string{"another issuer": sign(key, "https://elsewhere.example/realms/ovirt", "ovirt-app-api"),
		"another key": sign(other, issuer, "ovirt-app-api")} {
		if code, _ := curl("Authorization: Bearer "+tok, "/ovirt-engine/api"); code != "401" {
			t.Errorf("%s: %s, want 401", name, code)
		}
	}
	// The server's own tokens still work beside the provider's.
	c := s.creds(t)
	out, err := exec.Command("curl", "-sS", "--cacert", ca, "-H", "Accept: application/json", "--data",
		"grant_type=password&scope=ovirt-app-api&username=admin%40internal&password="+c.ovirtPW, s.base+"/ovirt-engine/sso/oauth/token").Output()
	if err != nil {
		t.Fatal(err)
	}
	var grant struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &grant); err != nil || grant.AccessToken == "" {
		t.Fatalf("password grant: %v %s", err, out)
	}
	if code, _ := curl("Authorization: Bearer "+grant.AccessToken, "/ovirt-engine/api"); code != "200" {
		t.Errorf("the server's own token: %s", code)
	}
	if _, errOut, code := cliStatus(t, t.TempDir(), "", "serve", "--oidc-issuer", issuer); code == 0 || !strings.Contains(errOut, "--oidc-audience") {
		t.Errorf("--oidc-issuer without --oidc-audience: %d %s", code, errOut)
	}
}
