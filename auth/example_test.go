package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// Example wraps an existing handler: any scheme's Authenticator goes into the
// chain (here a stand-in that trusts a header), an xCAT-style rule table
// authorizes, and the handler reads the Identity from the context.
func Example() {
	store := memstore.New()
	_ = store.SetRules(context.Background(), []auth.Rule{
		{Priority: 1, Subject: "group:admin", Verdict: auth.Allow},
		{Priority: 2, Subject: "*", Methods: []string{"GET"}, Path: "/api/**", Verdict: auth.Allow},
	})
	trustHeader := auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
		if u := r.Header.Get("X-Demo-User"); u != "" {
			return &auth.Identity{User: u, Scheme: "demo"}, nil
		}
		return nil, auth.ErrNoCredentials
	})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s", id.User)
	})
	srv := httptest.NewTLSServer(auth.Middleware(auth.Chain(trustHeader), auth.Config{Policy: auth.RuleTable{Store: store}})(api))
	defer srv.Close()

	for _, method := range []string{"GET", "DELETE"} {
		req, _ := http.NewRequest(method, srv.URL+"/api/vms", nil)
		req.Header.Set("X-Demo-User", "wsuser")
		resp, _ := srv.Client().Do(req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(method, resp.StatusCode, string(body))
	}
	// Output:
	// GET 200 hello wsuser
	// DELETE 403 {"type":"about:blank","title":"Forbidden","status":403,"detail":"no policy rule allows this request","reason":"forbidden"}
}
