package external

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
)

// TestInventoryBehindEveryScheme is a user's test: no internals, no CA or
// signer built by hand.
func TestInventoryBehindEveryScheme(t *testing.T) {
	srv := authtest.New(t).NewTLSServer(Inventory())
	c := srv.Client()
	get := func(path string) *http.Request {
		r, _ := http.NewRequest("GET", srv.URL+path, nil)
		return r
	}
	keep := get("/ovirt-engine/api")
	keep.Header.Set("Prefer", "persistent-auth")
	for _, tc := range []struct {
		scheme string
		client *http.Client
		req    *http.Request
	}{
		{"query", c, srv.Query("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword)},
		{"basic", c, srv.Basic("GET", "/ovirt-engine/api", authtest.OVirtUser, authtest.OVirtPassword)},
		{"token", c, srv.XAuthToken("GET", "/xcatws/nodes")},
		{"pat", c, srv.PATBasic("GET", "/api/status")},
		{"oauth1", srv.OAuth1Client(authtest.SatelliteUser, false), get("/api/status")},
		{"oauth2", c, srv.Bearer("GET", "/ovirt-engine/api/vms")},
		{"session", srv.SessionClient(), keep},
		{"mtls", srv.CertClient(authtest.CertUser), get("/v1/configuration/containers")},
	} {
		res, err := tc.client.Do(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		_ = json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != 200 || got["scheme"] != tc.scheme {
			t.Errorf("%s: %d %v", tc.scheme, res.StatusCode, got)
		}
	}
	res, err := c.Do(srv.Basic("GET", "/api/status", authtest.SatelliteUser, "wrong"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	authtest.AssertChallenge(t, res, "Basic")
}

// TestInventoryUnit skips authentication: the handler alone.
func TestInventoryUnit(t *testing.T) {
	w := httptest.NewRecorder()
	Inventory().ServeHTTP(w, withUser(httptest.NewRequest("GET", "/", nil), &auth.Identity{User: "bob", Scheme: "test"}))
	if w.Code != 200 || w.Body.String() != "{\"scheme\":\"test\",\"user\":\"bob\"}\n" {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

// FuzzInventory is a user's fuzz test: whatever bytes arrive, over plain
// HTTP, TLS or TLS with a client certificate, the service behind
// gatehouse never answers 5xx.
func FuzzInventory(f *testing.F) {
	fx := authtest.New(f)
	h := fx.Handler(Inventory())
	conns := []authtest.Conn{{}, {TLS: true}, fx.ClientCertConn()}
	f.Add(uint8(1), []byte("GET /xcatws/nodes?userName="+authtest.XCATUser+"&userPW="+authtest.XCATPassword+" HTTP/1.1\r\nHost: api.example\r\n\r\n"))
	f.Add(uint8(1), []byte("GET /api/status HTTP/1.1\r\nHost: api.example\r\nAuthorization: Basic YWRtaW46c2F0ZWxsaXRlLXB3\r\n\r\n"))
	f.Add(uint8(2), []byte("GET /v1/configuration/containers HTTP/1.1\r\nHost: api.example\r\n\r\n"))
	f.Fuzz(func(t *testing.T, conn uint8, raw []byte) {
		if rec := authtest.ServeRaw(h, raw, conns[int(conn)%len(conns)]); rec != nil && rec.Code >= 500 {
			t.Errorf("%d for %q: %s", rec.Code, raw, rec.Body)
		}
	})
}

// withUser is r as auth.Middleware hands it on once id is proved.
func withUser(r *http.Request, id *auth.Identity) *http.Request {
	return r.WithContext(auth.WithIdentity(r.Context(), id))
}
