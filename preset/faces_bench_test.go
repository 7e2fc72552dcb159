package preset_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/preset"
)

// BenchmarkFaces is one request with an access token through the oVirt
// face (Bearer) and through the xCAT face (X-Auth-Token and Bearer), over
// the same token service: the work is the same, and so should the time be.
func BenchmarkFaces(b *testing.B) {
	ctx := context.Background()
	store := authtest.Users(authtest.User{Login: "admin@internal", Password: "pw"})
	_ = store.SetRules(ctx, []auth.Rule{{Priority: 1, Subject: "*", Verdict: auth.Allow}})
	p := preset.New(preset.From(store), preset.Options{})
	u, _ := store.User(ctx, "admin@internal")
	tok, err := p.Tokens().IssueAccess(ctx, auth.UserIdentity(u, ""), []string{preset.OVirtScope})
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	ovirt, xcat := p.OVirt(ok), p.XCAT(ok)
	for _, c := range []struct {
		name   string
		h      http.Handler
		path   string
		header string
		value  string
	}{
		{"ovirt-bearer", ovirt, "/ovirt-engine/api", "Authorization", "Bearer " + tok.Secret},
		{"xcat-bearer", xcat, "/xcatws/nodes", "Authorization", "Bearer " + tok.Secret},
		{"xcat-x-auth-token", xcat, "/xcatws/nodes", "X-Auth-Token", tok.Secret},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "https://api.example"+c.path, nil)
				req.Header.Set(c.header, c.value)
				for pb.Next() {
					rec := httptest.NewRecorder()
					c.h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
