package preset_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/token"
)

// The tests in this file are attacks an outside review of session 9's
// changes found; each failed before its fix. Their comments say what the
// attack did then.

// xCAT face: a request authenticated by X-Auth-Token that also carries
// query credentials separated by ';' (which Perl's CGI.pm splits on, and
// which httpx.StripQueryCredentials strips since 183cef1) reaches the
// handler with the password still in its URL.
func TestReviewXCATQueryCredentialsAfterSemicolonReachHandler(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	p := preset.New(preset.From(store), preset.Options{HashSlots: authtest.Slots})
	var seen []string
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = append(seen, r.URL.RawQuery+" | "+r.RequestURI) })
	srv := httptest.NewTLSServer(p.XCAT(api))
	defer srv.Close()
	issued, err := p.Tokens().IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"userName=wsuser&userPW=cluster-secret",          // control: stripped
		"userName=wsuser;userPW=cluster-secret",          // CGI.pm: userName, userPW
		"pretty=1;userName=wsuser;userPW=cluster-secret", // CGI.pm: pretty, userName, userPW
	} {
		seen = nil
		req, _ := http.NewRequest("GET", srv.URL+"/xcatws/nodes?"+q, nil)
		req.Header.Set("X-Auth-Token", issued.Secret)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		t.Logf("%-50s → %d, handler saw %q", q, res.StatusCode, seen)
		if res.StatusCode == 200 && len(seen) == 1 && strings.Contains(seen[0], "cluster-secret") {
			t.Errorf("the password in %q reached the handler", q)
		}
	}
}

// Satellite face: a PAT (here one that expires in an hour) mints a new PAT
// without expiry through Foreman's PAT API; the new one outlives the
// revocation of the first. An OAuth 1 consumer (FOREMAN-USER: admin) mints
// a PAT for admin that works without the consumer secret and outlives the
// consumer being disabled.
func TestReviewSatellitePATMintsPAT(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	ctx := context.Background()
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	if err := store.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "consumer-secret-0123456789"}); err != nil {
		t.Fatal(err)
	}
	p := preset.New(preset.From(store), preset.Options{HashSlots: authtest.Slots})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		_, _ = io.WriteString(w, id.Login()+" via "+id.Scheme)
	})
	srv := httptest.NewTLSServer(p.Satellite(api))
	defer srv.Close()
	short, err := p.Tokens().CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "ci-1h", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	do := func(c *http.Client, method, path, user, pw, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	var minted struct {
		ID        string  `json:"id"`
		Token     string  `json:"token_value"`
		ExpiresAt *string `json:"expires_at"`
	}
	code, body := do(srv.Client(), "POST", "/api/users/admin/personal_access_tokens", "admin", short.Secret, `{"personal_access_token":{"name":"forever"}}`)
	t.Logf("PAT (expires in 1h) → POST personal_access_tokens: %d %s", code, body)
	_ = json.Unmarshal([]byte(body), &minted)
	if code == 201 {
		_ = p.Tokens().Revoke(ctx, "admin", short.Token.ID)
		c1, _ := do(srv.Client(), "GET", "/api/status", "admin", short.Secret, "")
		c2, b2 := do(srv.Client(), "GET", "/api/status", "admin", minted.Token, "")
		t.Logf("after revoking the first PAT: first %d, minted (expires_at=%v) %d %q", c1, minted.ExpiresAt, c2, b2)
		t.Errorf("a PAT minted a PAT without expiry that outlives it")
	}

	oc := oauth1.NewSigningClient(ctx, oauth1.SigningClientConfig{ConsumerKey: "katello", ConsumerSecret: "consumer-secret-0123456789",
		User: "admin", Base: srv.Client().Transport})
	code, body = do(oc, "POST", "/api/users/admin/personal_access_tokens", "", "", `{"personal_access_token":{"name":"from-oauth1"}}`)
	t.Logf("OAuth 1 consumer as FOREMAN-USER admin → POST personal_access_tokens: %d %s", code, body)
	_ = json.Unmarshal([]byte(body), &minted)
	if code == 201 {
		_ = store.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "consumer-secret-0123456789", Disabled: true})
		c2, b2 := do(srv.Client(), "GET", "/api/status", "admin", minted.Token, "")
		t.Logf("consumer disabled; the minted PAT: %d %q", c2, b2)
		t.Errorf("an OAuth 1 consumer minted a standing Basic credential for admin")
	}
}

// Satellite face: OAuth 1 with the parameters in the query (RFC 5849
// §3.5.3) and PLAINTEXT (accepted by default for a secret consumer): the
// signature is the consumer secret itself, and the handler gets it in
// r.URL (the gateway strips oauth_* with httpx.StripQueryCredentials; the
// library faces do not).
func TestReviewSatelliteOAuth1QuerySecretReachesHandler(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	ctx := context.Background()
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	const secret = "consumer-secret-0123456789"
	if err := store.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	p := preset.New(preset.From(store), preset.Options{HashSlots: authtest.Slots})
	var seen string
	srv := httptest.NewTLSServer(p.Satellite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.URL.RawQuery })))
	defer srv.Close()
	q := "per_page=5&oauth_consumer_key=katello&oauth_signature_method=PLAINTEXT&oauth_signature=" + secret + "%26" +
		"&oauth_timestamp=" + fmt.Sprint(time.Now().Unix()) + "&oauth_nonce=n1&oauth_version=1.0"
	req, _ := http.NewRequest("GET", srv.URL+"/api/status?"+q, nil)
	req.Header.Set("FOREMAN-USER", "admin")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	t.Logf("%d, handler saw %q", res.StatusCode, seen)
	if res.StatusCode == 200 && strings.Contains(seen, secret) {
		t.Errorf("the consumer secret reached the handler in the URL")
	}
}

// preset.Options.Verifiers: "On the oVirt face their tokens need scope
// ovirt-app-api too." bearerScope only looks at identities whose Scheme is
// oauth2; a verifier that names its own Scheme (the TokenVerifier contract
// allows it: "may be left empty") is let through without the scope.
func TestReviewExtraVerifierSkipsOVirtScope(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "ovirt-pw"})
	_ = store.SetRules(context.Background(), []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	mk := func(scheme string) auth.TokenVerifier {
		return auth.TokenVerifierFunc(func(_ context.Context, tok string) (*auth.Identity, error) {
			if !strings.HasPrefix(tok, "ext_") {
				return nil, auth.ErrNotMine
			}
			return &auth.Identity{User: "admin", Domain: "internal", Scheme: scheme}, nil // no scopes at all
		})
	}
	for _, scheme := range []string{"", "ext-idp"} {
		p := preset.New(preset.From(store), preset.Options{HashSlots: authtest.Slots, Verifiers: []auth.TokenVerifier{mk(scheme)}})
		srv := httptest.NewTLSServer(p.OVirt(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		req, _ := http.NewRequest("GET", srv.URL+"/ovirt-engine/api", nil)
		req.Header.Set("Authorization", "Bearer ext_abc")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		srv.Close()
		t.Logf("extra verifier with Scheme %q, token without ovirt-app-api → %d", scheme, res.StatusCode)
		if res.StatusCode == 200 {
			t.Errorf("Scheme %q: a token without scope ovirt-app-api reached the oVirt API", scheme)
		}
	}
}

// Every face refuses credentials over plain HTTP (403) before checking
// them; the self-service page (preset.SelfService) checks a password sent
// over plain HTTP, as HTTP Basic or in its sign-in form.
func TestReviewSelfServiceChecksPasswordOverPlainHTTP(t *testing.T) {
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	p := preset.New(preset.From(store), preset.Options{HashSlots: authtest.Slots})
	mux := http.NewServeMux()
	mux.Handle(preset.SelfServicePrefix, p.SelfService())
	mux.Handle(preset.SatellitePrefix, p.Satellite(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	srv := httptest.NewServer(mux) // plain HTTP
	defer srv.Close()
	for _, path := range []string{"/api/status", "/ui/"} {
		for _, pw := range []string{"wrong", "satellite-pw"} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.SetBasicAuth("admin", pw)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			signedIn := strings.Contains(string(b), "Sign out") || strings.Contains(string(b), "logout")
			t.Logf("plain HTTP %s Basic admin:%s → %d signed-in page=%v", path, pw, res.StatusCode, signedIn)
			if path == "/ui/" && pw == "satellite-pw" && signedIn {
				t.Errorf("the self-service page checked and accepted a password sent over plain HTTP")
			}
		}
	}
}
