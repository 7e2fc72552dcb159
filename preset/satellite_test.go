package preset_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/preset"
)

// The Satellite face serves Foreman's personal access token API itself,
// so a library user of preset.Satellite has it without cmd/: create (the
// secret once), use as the Basic password, list, revoke; only one's own.
func TestSatelliteServesForemanPATAPI(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"}, authtest.User{Login: "eve", Password: "eve-pw"})
	require.NoError(t, store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}}))
	p := preset.New(preset.From(store), preset.Options{HashSlots: authtest.Slots})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		_, _ = io.WriteString(w, id.Login()+" via "+id.Scheme)
	})
	srv := httptest.NewTLSServer(p.Satellite(api))
	defer srv.Close()
	call := func(method, path, user, pw, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.SetBasicAuth(user, pw)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const pats = "/api/users/admin/personal_access_tokens"
	code, body := call("POST", pats, "admin", "satellite-pw", `{"personal_access_token":{"name":"ci"}}`)
	require.Equal(t, 201, code, body)
	var created struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Token string `json:"token_value"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	assert.Equal(t, "ci", created.Name)
	require.NotEmpty(t, created.Token)

	code, body = call("GET", "/api/status", "admin", created.Token, "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "admin via pat", body)

	code, body = call("GET", pats, "admin", "satellite-pw", "")
	require.Equal(t, 200, code)
	assert.Contains(t, body, `"name":"ci"`)
	assert.NotContains(t, body, created.Token, "the secret is shown once")

	code, body = call("GET", pats, "eve", "eve-pw", "")
	assert.Equal(t, 403, code, "only one's own tokens")
	assert.JSONEq(t, `{"error":{"message":"you may only manage your own personal access tokens"}}`, body)
	code, body = call("POST", pats, "admin", "satellite-pw", `{"personal_access_token":`)
	assert.Equal(t, 400, code)
	assert.Contains(t, body, `"error":{"message"`)
	code, _ = call("POST", pats, "admin", "satellite-pw", `{"personal_access_token":{"name":"ci"}}`)
	assert.Equal(t, 422, code, "a name is taken once")

	code, _ = call("DELETE", pats+"/"+created.ID, "admin", "satellite-pw", "")
	assert.Equal(t, 200, code)
	code, body = call("GET", "/api/status", "admin", created.Token, "")
	assert.Equal(t, 401, code, "revoked at once")
	assert.JSONEq(t, `{"error":{"message":"Unable to authenticate user admin"}}`, body)
}
