package oauth2_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// manageServer serves the token, revocation, introspection and metadata
// endpoints and an API behind bearer tokens; "rs" is a registered client
// (a resource server) with secret "rs-secret-0123456789".
func manageServer(t *testing.T) (*httptest.Server, *token.Service) {
	return manageServerOver(t, adminAndClient(t, "rs", "rs-secret-0123456789"))
}

// manageServerOver is manageServer over store.
func manageServerOver(t *testing.T, store memstore.Store) (*httptest.Server, *token.Service) {
	tokens := token.New(token.Config{Store: store, Users: store})
	cfg := oauth2.EndpointConfig{Tokens: tokens, Passwords: pwcheck.New(pwcheck.Config{Users: store, Slots: authtest.Slots}),
		Scopes: []string{"ovirt-app-api"}, RefreshTokens: true}
	mux := http.NewServeMux()
	mux.Handle("/token", oauth2.NewTokenEndpoint(cfg))
	mux.Handle("/revoke", oauth2.NewRevocationEndpoint(cfg))
	cfg.Clients = store
	mux.Handle("/introspect", oauth2.NewIntrospectionEndpoint(cfg))
	mux.Handle("/.well-known/oauth-authorization-server", oauth2.Metadata{TokenPath: "/token", RevocationPath: "/revoke",
		IntrospectionPath: "/introspect", Scopes: []string{"ovirt-app-api"}, RefreshTokens: true})
	mux.Handle("/api", auth.Middleware(oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()}), auth.Config{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, tokens
}

// goToken gets a token pair with golang.org/x/oauth2's password grant.
func goToken(t *testing.T, srv *httptest.Server) *xoauth2.Token {
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, srv.Client())
	conf := &xoauth2.Config{ClientID: "ovirt-engine-sdk", Scopes: []string{"ovirt-app-api"},
		Endpoint: xoauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: xoauth2.AuthStyleInParams}}
	tok, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, user, pw string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b)
}

func apiStatus(t *testing.T, srv *httptest.Server, access string) int {
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestRevocation: RFC 7009 with tokens from golang.org/x/oauth2: an access
// token stops working; a refresh token takes its grant's access token with
// it; unknown and malformed tokens get 200; a missing token is 400.
func TestRevocation(t *testing.T) {
	srv, _ := manageServer(t)
	tok := goToken(t, srv)
	if code := apiStatus(t, srv, tok.AccessToken); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	if code, body := post(t, srv, "/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, "", ""); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code := apiStatus(t, srv, tok.AccessToken); code != 401 {
		t.Errorf("revoked access token: %d, want 401", code)
	}
	tok2 := goToken(t, srv)
	if code, _ := post(t, srv, "/revoke", url.Values{"token": {tok2.RefreshToken}}, "", ""); code != 200 {
		t.Fatalf("revoke refresh: %d", code)
	}
	if code := apiStatus(t, srv, tok2.AccessToken); code != 401 {
		t.Errorf("access token of a revoked grant: %d, want 401", code)
	}
	for _, v := range []string{"gate_at_unknown0000000000000000000000000000000", "not a token", strings.Repeat("x", 4000)} {
		if code, body := post(t, srv, "/revoke", url.Values{"token": {v}}, "", ""); code != 200 || body != "" {
			t.Errorf("revoke %.20q: %d %q, want 200 and nothing", v, code, body)
		}
	}
	if code, _ := post(t, srv, "/revoke", url.Values{}, "", ""); code != 400 {
		t.Errorf("no token: %d, want 400", code)
	}
	res, _ := srv.Client().Get(srv.URL + "/revoke")
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Errorf("GET: %d, want 405", res.StatusCode)
	}
}

// TestIntrospection: RFC 7662. Only authenticated clients may ask; an
// active token shows its fields; an inactive one reveals nothing else.
func TestIntrospection(t *testing.T) {
	srv, tokens := manageServer(t)
	tok := goToken(t, srv)
	if code, _ := post(t, srv, "/introspect", url.Values{"token": {tok.AccessToken}}, "", ""); code != 401 {
		t.Errorf("without client credentials: %d, want 401", code)
	}
	if code, _ := post(t, srv, "/introspect", url.Values{"token": {tok.AccessToken}}, "rs", "wrong-secret-0123456789"); code != 401 {
		t.Errorf("wrong client secret: %d, want 401", code)
	}
	code, body := post(t, srv, "/introspect", url.Values{"token": {tok.AccessToken}}, "rs", "rs-secret-0123456789")
	var got map[string]any
	_ = json.Unmarshal([]byte(body), &got)
	if code != 200 || got["active"] != true || got["username"] != "admin@internal" || got["scope"] != "ovirt-app-api" ||
		got["token_type"] != "Bearer" || got["exp"] == nil || got["iat"] == nil {
		t.Errorf("active token: %d %s", code, body)
	}
	// The client_id form of authentication (client_secret_post) works too.
	if code, body := post(t, srv, "/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {"rs"}, "client_secret": {"rs-secret-0123456789"}}, "", ""); code != 200 || !strings.Contains(body, `"active":true`) {
		t.Errorf("client_secret_post: %d %s", code, body)
	}
	pat, _ := tokens.CreatePAT(context.Background(), token.PATSpec{Login: "admin@internal", Name: "ci"})
	if _, body := post(t, srv, "/introspect", url.Values{"token": {pat.Secret}}, "rs", "rs-secret-0123456789"); !strings.Contains(body, `"active":true`) {
		t.Errorf("PAT: %s", body)
	}
	post(t, srv, "/revoke", url.Values{"token": {tok.AccessToken}}, "", "")
	for _, v := range []string{tok.AccessToken, "gate_at_unknown", "garbage"} {
		if _, body := post(t, srv, "/introspect", url.Values{"token": {v}}, "rs", "rs-secret-0123456789"); strings.TrimSpace(body) != `{"active":false}` {
			t.Errorf("inactive %.20q: %s, want only active:false", v, body)
		}
	}
}

// TestMetadata: RFC 8414's required fields, absolute https endpoints.
func TestMetadata(t *testing.T) {
	srv, _ := manageServer(t)
	res, err := srv.Client().Get(srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	res.Body.Close()
	issuer, _ := m["issuer"].(string)
	if !strings.HasPrefix(issuer, "https://") || strings.ContainsAny(issuer, "?#") {
		t.Errorf("issuer %q", issuer)
	}
	if _, ok := m["response_types_supported"].([]any); !ok {
		t.Error("response_types_supported (required) missing")
	}
	for k, path := range map[string]string{"token_endpoint": "/token", "revocation_endpoint": "/revoke", "introspection_endpoint": "/introspect"} {
		if m[k] != issuer+path {
			t.Errorf("%s = %v, want %s", k, m[k], issuer+path)
		}
	}
	if g, _ := m["grant_types_supported"].([]any); len(g) != 2 {
		t.Errorf("grant_types_supported %v", m["grant_types_supported"])
	}
}

// adminAndClient is a store with the user admin@internal (password
// "ovirt-pw") and the client id with secret, hashed as a real one is.
func adminAndClient(t *testing.T, id, secret string) memstore.Store {
	t.Helper()
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	h, err := password.Hash(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutClient(context.Background(), stores.Client{ID: id, SecretHash: h}); err != nil {
		t.Fatal(err)
	}
	return store
}

// Attack (failed before the fix: 200 with active:true, username:admin): a
// registered public client (no secret) introspects the admin's PAT. RFC
// 7662 §2.1 wants the caller authenticated; a public client cannot be.
func TestIntrospectionRefusesPublicClients(t *testing.T) {
	store := adminAndClient(t, "rs", "rs-secret-0123456789")
	srv, tokens := manageServerOver(t, store)
	if err := store.PutClient(context.Background(), stores.Client{ID: "public-app"}); err != nil {
		t.Fatal(err)
	}
	pat, err := tokens.CreatePAT(context.Background(), token.PATSpec{Login: "admin@internal", Name: "admin-pat"})
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range map[string]url.Values{
		"client_id only": {"token": {pat.Secret}, "client_id": {"public-app"}},
		"empty secret":   {"token": {pat.Secret}, "client_id": {"public-app"}, "client_secret": {""}},
	} {
		code, body := post(t, srv, "/introspect", form, "", "")
		if code != 401 || strings.Contains(body, "admin") {
			t.Errorf("%s: %d %s, want 401 and nothing about the token", name, code, body)
		}
	}
	if code, body := post(t, srv, "/introspect", url.Values{"token": {pat.Secret}}, "public-app", ""); code != 401 || strings.Contains(body, "admin") {
		t.Errorf("public client over Basic: %d %s, want 401", code, body)
	}
}

// Attack (failed before the fix: 200, and the token was dead): with
// clients registered, client b revokes a token that was not issued to it —
// client a's, or one issued to no client (the admin's PAT, a password
// grant without client_id). RFC 7009 §2.1: refused, and the token lives.
func TestRevocationHonoursTheClientBinding(t *testing.T) {
	store := adminAndClient(t, "a", "a-secret-0123456789")
	h, _ := password.Hash("b-secret-0123456789")
	if err := store.PutClient(context.Background(), stores.Client{ID: "b", SecretHash: h}); err != nil {
		t.Fatal(err)
	}
	tokens := token.New(token.Config{Store: store, Users: store})
	cfg := oauth2.EndpointConfig{Tokens: tokens, Clients: store, Passwords: pwcheck.New(pwcheck.Config{Users: store, Slots: authtest.Slots}),
		Scopes: []string{"ovirt-app-api"}}
	mux := http.NewServeMux()
	mux.Handle("/token", oauth2.NewTokenEndpoint(cfg))
	mux.Handle("/revoke", oauth2.NewRevocationEndpoint(cfg))
	mux.Handle("/api", auth.Middleware(oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()}), auth.Config{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, srv.Client())
	conf := &xoauth2.Config{ClientID: "a", ClientSecret: "a-secret-0123456789", Scopes: []string{"ovirt-app-api"},
		Endpoint: xoauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: xoauth2.AuthStyleInHeader}}
	ofA, err := conf.PasswordCredentialsToken(ctx, "admin@internal", "ovirt-pw")
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := tokens.CreatePAT(context.Background(), token.PATSpec{Login: "admin@internal", Name: "admin-pat"})
	for name, secret := range map[string]string{"client a's token": ofA.AccessToken, "a token of no client": pat.Secret} {
		code, body := post(t, srv, "/revoke", url.Values{"token": {secret}}, "b", "b-secret-0123456789")
		if code == 200 {
			t.Errorf("client b revoked %s: %d %s", name, code, body)
		}
		if _, err := tokens.Lookup(context.Background(), secret); err != nil {
			t.Errorf("%s after client b's attempt: %v", name, err)
		}
	}
	if code := apiStatus(t, srv, ofA.AccessToken); code != 200 {
		t.Errorf("client a's token after client b's attempt: %d", code)
	}
	// Client a revokes its own.
	if code, body := post(t, srv, "/revoke", url.Values{"token": {ofA.AccessToken}}, "a", "a-secret-0123456789"); code != 200 {
		t.Errorf("client a revoking its own token: %d %s", code, body)
	}
	if code := apiStatus(t, srv, ofA.AccessToken); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}
}
