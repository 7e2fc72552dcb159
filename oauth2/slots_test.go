package oauth2_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/token"
)

// TestClientSecretsRunInThePipelinesSlots: a service that gives its
// password pipeline its own HashSlots bounds the client-secret hashes of
// the token endpoint with them too, not with a second, process-wide bound.
// Each client-authenticated grant starts one hash there, and while the
// slots are taken a grant waits and then gets 503 with Retry-After.
func TestClientSecretsRunInThePipelinesSlots(t *testing.T) {
	store := adminAndClient(t, "sdk", "sdk-secret-0123456789")
	slots := pwcheck.NewHashSlots(1, 100*time.Millisecond)
	slots.SetCPUShare(0)
	cached := pwcheck.NewCache(pwcheck.CacheConfig{Next: authtest.Verifier(t, store), Users: store})
	srv := httptest.NewTLSServer(oauth2.NewTokenEndpoint(oauth2.EndpointConfig{
		Tokens:    token.New(token.Config{Store: store, Users: store}),
		Passwords: &pwcheck.Pipeline{Verifier: cached, Slots: slots},
		Clients:   store, RequireClient: true,
	}))
	defer srv.Close()
	grant := func() *http.Response {
		t.Helper()
		form := url.Values{"grant_type": {"password"}, "username": {"admin@internal"}, "password": {"ovirt-pw"},
			"client_id": {"sdk"}, "client_secret": {"sdk-secret-0123456789"}}
		resp, err := srv.Client().Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	for i := int64(1); i <= 2; i++ {
		if resp := grant(); resp.StatusCode != http.StatusOK {
			t.Fatalf("grant %d: %s", i, resp.Status)
		}
		if got := slots.Stats().Started; got != i {
			t.Fatalf("after %d grants the pipeline's slots started %d hashes, want %d (one client secret each)", i, got, i)
		}
	}

	release, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = slots.Do(context.Background(), func() { close(held); <-release })
	}()
	<-held
	resp := grant()
	close(release)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("grant while the slots are taken: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if st := slots.Stats(); st.Refused != 1 {
		t.Fatalf("refused %d, want 1", st.Refused)
	}
	if resp := grant(); resp.StatusCode != http.StatusOK {
		t.Fatalf("grant after the slots freed: %s", resp.Status)
	}
}
