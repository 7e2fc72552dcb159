package token_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/token"
)

// Example serves xCAT-style tokens (POST credentials, then X-Auth-Token) and
// Satellite-style personal access tokens (the Basic password) from one store.
func Example() {
	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	svc := token.New(token.Config{Store: store, Users: store})
	passwords := pwcheck.NewCache(pwcheck.CacheConfig{Next: &pwcheck.StoreVerifier{Users: store}, Users: store})

	mux := http.NewServeMux()
	mux.Handle("/xcatws/tokens", &preset.XCATTokens{Service: svc, Passwords: &pwcheck.Pipeline{Verifier: passwords}})
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s via %s", id.User, id.Scheme)
	})
	either := auth.Chain(token.XAuthToken(svc.AccessTokens()), basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(svc.PATs(), passwords)}}))
	mux.Handle("/api/", auth.Middleware(either, auth.Config{})(hello))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client := srv.Client()

	// curl -X POST --data '{"userName":"wsuser","userPW":"cluster-secret"}' https://…/xcatws/tokens
	resp, _ := client.Post(srv.URL+"/xcatws/tokens", "application/json",
		strings.NewReader(`{"userName":"wsuser","userPW":"cluster-secret"}`))
	var issued struct {
		Token struct {
			ID string `json:"id"`
		} `json:"token"`
	}
	_ = jsonDecode(resp, &issued)
	fmt.Println(resp.StatusCode, strings.HasPrefix(issued.Token.ID, token.PrefixAccess))

	req, _ := http.NewRequest("GET", srv.URL+"/api/nodes", nil)
	req.Header.Set("X-Auth-Token", issued.Token.ID) // curl -H "X-Auth-Token: …"
	printBody(client.Do(req))

	pat, _ := svc.CreatePAT(context.Background(), token.PATSpec{Login: "wsuser", Name: "ci"})
	req, _ = http.NewRequest("GET", srv.URL+"/api/hosts", nil)
	req.SetBasicAuth("wsuser", pat.Secret) // curl --user wsuser:gate_pat_…
	printBody(client.Do(req))
	// Output:
	// 201 true
	// wsuser via token
	// wsuser via pat
}

func printBody(resp *http.Response, err error) {
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(string(b))
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
