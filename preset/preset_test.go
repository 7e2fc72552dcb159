package preset_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/token"
)

// TestOVirtRefusesOtherFacesTokens: an xCAT access token is an access token
// too, but it lacks ovirt-app-api: oVirt's API answers 403
// insufficient_scope (it answered 200 before). A PAT is not an access token
// at all (401 invalid_token); oVirt's own SSO token and Basic pass.
func TestOVirtRefusesOtherFacesTokens(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	p := preset.New(preset.From(store), preset.Options{})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux := http.NewServeMux()
	mux.Handle(preset.OVirtPrefix, p.OVirt(ok))
	mux.Handle(preset.XCATPrefix, p.XCAT(ok))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	// An xCAT token for the same account.
	resp, err := srv.Client().Post(srv.URL+"/xcatws/tokens", "application/json",
		strings.NewReader(`{"userName":"admin@internal","userPW":"ovirt-pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	var x struct{ Token struct{ ID string } }
	_ = json.NewDecoder(resp.Body).Decode(&x)
	resp.Body.Close()
	if x.Token.ID == "" {
		t.Fatalf("no xCAT token (status %d)", resp.StatusCode)
	}
	pat, err := p.Tokens().CreatePAT(context.Background(), token.PATSpec{Login: "admin@internal", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	sso, err := srv.Client().Post(srv.URL+preset.OVirtTokenPath, "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=ovirt-pw"))
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(sso.Body).Decode(&o)
	sso.Body.Close()

	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"xCAT token as Bearer", "Bearer " + x.Token.ID, 403},
		{"PAT as Bearer (not an access token)", "Bearer " + pat.Secret, 401},
		{"oVirt SSO token", "Bearer " + o.AccessToken, 200},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
		req.Header.Set("Authorization", c.auth)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
		if c.want == 403 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("%s: WWW-Authenticate %q", c.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
	req.SetBasicAuth("admin@internal", "ovirt-pw")
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Basic: %d", resp.StatusCode)
	}
}
