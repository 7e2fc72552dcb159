package oauth2_test

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// acceptAll is a PasswordVerifier with no hash cost, so the issuing benchmark
// measures the endpoint and token issuing alone.
type acceptAll struct{}

func (acceptAll) VerifyPassword(_ context.Context, login, _ string) (*auth.Identity, error) {
	return &auth.Identity{User: login}, nil
}

// BenchmarkIssue is one password-grant request through the endpoint,
// excluding the password hash.
func BenchmarkIssue(b *testing.B) {
	st := memstore.New()
	tokens := token.New(token.Config{Store: st, Users: st})
	ep := oauth2.NewTokenEndpoint(oauth2.EndpointConfig{Tokens: tokens, Passwords: &pwcheck.Pipeline{Verifier: acceptAll{}}, Scopes: []string{"ovirt-app-api"}, RequireScope: true})
	body := "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=x"
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "https://engine/ovirt-engine/sso/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		ep.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkBearerVerify is one bearer-token authentication over memstore.
func BenchmarkBearerVerify(b *testing.B) {
	st := memstore.New()
	_ = st.PutUser(context.Background(), stores.User{Name: "admin", Domain: "internal"})
	tokens := token.New(token.Config{Store: st, Users: st})
	issued, err := tokens.IssueAccess(context.Background(), &auth.Identity{User: "admin", Domain: "internal"}, []string{"ovirt-app-api"})
	if err != nil {
		b.Fatal(err)
	}
	bearer := oauth2.NewBearer(oauth2.BearerConfig{Verifier: tokens.AccessTokens()})
	req := httptest.NewRequest("GET", "https://engine/ovirt-engine/api/vms", nil)
	req.Header.Set("Authorization", "Bearer "+issued.Secret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bearer.Authenticate(req); err != nil {
			b.Fatal(err)
		}
	}
}
