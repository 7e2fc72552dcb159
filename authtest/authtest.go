// Package authtest holds fixtures for tests of services that use gatehouse:
// an in-memory store filled with users whose passwords are hashed cheaply
// (argon2id with minimal parameters, so tests stay fast while exercising the
// real verification path), and helpers that build requests for each scheme.
//
// New gives the whole setup at once — one user per product face, a PAT, an
// OAuth 1 consumer, a cluster CA — and NewTLSServer puts a handler behind
// every face, with a ready request or client per scheme:
//
//	func TestMyAPI(t *testing.T) {
//		srv := authtest.New(t).NewTLSServer(myHandler)
//		for _, r := range []*http.Request{
//			srv.Query("GET", "/xcatws/nodes", authtest.XCATUser, authtest.XCATPassword),
//			srv.XAuthToken("GET", "/xcatws/nodes"),
//			srv.PATBasic("GET", "/api/status"),
//			srv.Bearer("GET", "/ovirt-engine/api"),
//		} {
//			if res, err := srv.Client().Do(r); err != nil || res.StatusCode != 200 {
//				t.Errorf("%s: %v %v", r.URL.Path, res, err)
//			}
//		}
//		res, _ := srv.Client().Do(srv.Basic("GET", "/api/status", "admin", "wrong"))
//		authtest.AssertChallenge(t, res, "Basic")
//	}
//
// OAuth1Client, SessionClient and CertClient are the other schemes' clients;
// auth.WithIdentity skips authentication in handler unit tests. ServeRaw serves a
// fuzzer's bytes as a request on Handler's faces, over plain HTTP, TLS or
// TLS with ClientCertConn's certificate:
//
//	func FuzzMyAPI(f *testing.F) {
//		fx := authtest.New(f)
//		h := fx.Handler(myHandler)
//		f.Add([]byte("GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n"))
//		f.Fuzz(func(t *testing.T, raw []byte) {
//			if rec := authtest.ServeRaw(h, raw, authtest.Conn{TLS: true}); rec != nil && rec.Code >= 500 {
//				t.Errorf("%d for %q", rec.Code, raw)
//			}
//		})
//	}
package authtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// CheapHasher makes real argon2id hashes with the smallest sensible
// parameters. Never use it outside tests.
var CheapHasher = password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

// User describes a test user. Login is "name" or "name@domain".
type User struct {
	Login    string
	Password string
	Groups   []string
	Disabled bool
}

// Users returns a memstore holding users, their passwords hashed with
// CheapHasher. It panics on an error, which only a broken store can cause
// (it needs no testing.TB, so examples use it too).
func Users(users ...User) memstore.Store {
	s := memstore.New()
	for _, u := range users {
		if err := putUser(s, u); err != nil {
			panic(err)
		}
	}
	return s
}

// PutUser creates or replaces u in s (hashing its password with CheapHasher).
func PutUser(tb testing.TB, s stores.UserAdmin, u User) {
	tb.Helper()
	if err := putUser(s, u); err != nil {
		tb.Fatal(err)
	}
}

func putUser(s stores.UserAdmin, u User) error {
	name, domain := u.Login, ""
	if i := strings.LastIndexByte(u.Login, '@'); i >= 0 {
		name, domain = u.Login[:i], u.Login[i+1:]
	}
	rec := stores.User{Name: name, Domain: domain, Groups: u.Groups, Disabled: u.Disabled}
	if u.Password != "" {
		h, err := CheapHasher.Hash(u.Password)
		if err != nil {
			return fmt.Errorf("authtest: hashing: %w", err)
		}
		rec.PasswordHash = h
	}
	if err := s.PutUser(context.Background(), rec); err != nil {
		return fmt.Errorf("authtest: storing user %s: %w", u.Login, err)
	}
	return nil
}

// Verifier returns a StoreVerifier over users whose dummy hash has
// CheapHasher's cost, so unknown users cost what known ones do in tests,
// and whose hashes run in Slots.
func Verifier(tb testing.TB, users stores.UserStore) *pwcheck.StoreVerifier {
	tb.Helper()
	h, err := CheapHasher.Hash("dummy")
	if err != nil {
		tb.Fatalf("authtest: %v", err)
	}
	return &pwcheck.StoreVerifier{Users: users, DummyHash: h, Slots: Slots}
}

// Slots are the hash slots of Verifier: NumCPU at once, as by default, but
// no CPU budget, since cheap test hashes in quick succession would spend it
// and turn tests about something else into 503s. A pipeline over Verifier
// runs the hashes it needs outside the verifier (OAuth 2 client secrets) in
// them too (pwcheck.SlotsOf); give them to pwcheck.New as Config.Slots.
var Slots = func() *pwcheck.HashSlots {
	s := pwcheck.NewHashSlots(0, 0)
	s.SetCPUShare(0)
	return s
}()
