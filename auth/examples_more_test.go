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

// header is a stand-in scheme for the examples: it trusts a header.
func header(name, scheme string) auth.Authenticator {
	return auth.IdentityFunc(func(r *http.Request) (*auth.Identity, error) {
		v := r.Header.Get(name)
		switch v {
		case "":
			return nil, auth.ErrNoCredentials
		case "bad":
			return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, Message: "bad " + name}
		}
		return &auth.Identity{User: v, Scheme: scheme}, nil
	})
}

func show(h http.Handler, r *http.Request) {
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	r.URL.Scheme, r.URL.Host = "https", srv.Listener.Addr().String()
	r.RequestURI = ""
	resp, err := srv.Client().Do(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(b))
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if id, ok := auth.IdentityFrom(r.Context()); ok {
		fmt.Fprintf(w, "hello %s via %s", id.User, id.Scheme)
		return
	}
	fmt.Fprint(w, "hello anonymous")
})

// ExampleChain: the first scheme that finds its credential decides; a wrong
// credential ends the chain (it never falls through to the next scheme).
func ExampleChain() {
	chain := auth.Chain(header("X-Token", "token"), header("X-User", "basic"))
	h := auth.Middleware(chain, auth.Config{})(hello)
	for _, hdr := range [][2]string{{"X-User", "alice"}, {"X-Token", "bob"}, {"X-Token", "bad"}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(hdr[0], hdr[1])
		r.Header.Set("X-User", "alice") // present every time: never used after a wrong token
		show(h, r)
	}
	// Output:
	// 200 hello alice via basic
	// 200 hello bob via token
	// 401 {"type":"about:blank","title":"Unauthorized","status":401,"detail":"bad X-Token","reason":"invalid","scheme":"token"}
}

// ExampleMiddleware_optional lets anonymous requests through (the handler
// sees no Identity) while a present but wrong credential is still refused.
func ExampleMiddleware_optional() {
	h := auth.Middleware(header("X-User", "demo"), auth.Config{Optional: true})(hello)
	show(h, httptest.NewRequest("GET", "/", nil))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-User", "bad")
	show(h, r)
	// Output:
	// 200 hello anonymous
	// 401 {"type":"about:blank","title":"Unauthorized","status":401,"detail":"bad X-User","reason":"invalid","scheme":"demo"}
}

// ExampleRuleTable is xCAT's policy table: the lowest priority that
// matches decides, subjects are users, group:NAME or * (anyone
// authenticated), and paths take * and ** patterns.
func ExampleRuleTable() {
	store := memstore.New()
	_ = store.SetRules(context.Background(), []auth.Rule{
		{Priority: 1, Subject: "root", Verdict: auth.Allow},
		{Priority: 2, Subject: "*", Methods: []string{"DELETE"}, Verdict: auth.Deny},
		{Priority: 3, Subject: "*", Path: "/xcatws/nodes/**", Verdict: auth.Allow},
	})
	h := auth.Middleware(header("X-User", "demo"), auth.Config{Policy: auth.RuleTable{Store: store}})(hello)
	for _, c := range [][3]string{{"GET", "/xcatws/nodes/n1", "wsuser"}, {"DELETE", "/xcatws/nodes/n1", "wsuser"},
		{"DELETE", "/xcatws/nodes/n1", "root"}, {"GET", "/xcatws/tables", "wsuser"}} {
		r := httptest.NewRequest(c[0], "https://xcat.example"+c[1], nil) // an https target: the request counts as TLS
		r.Header.Set("X-User", c[2])
		resp := httptest.NewRecorder()
		h.ServeHTTP(resp, r)
		fmt.Println(c[0], c[1], c[2], resp.Code)
	}
	// Output:
	// GET /xcatws/nodes/n1 wsuser 200
	// DELETE /xcatws/nodes/n1 wsuser 403
	// DELETE /xcatws/nodes/n1 root 200
	// GET /xcatws/tables wsuser 403
}
