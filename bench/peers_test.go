package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	httpauth "github.com/abbot/go-http-auth"
	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	mroauth "github.com/mrjones/oauth"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	fositestorage "github.com/ory/fosite/storage"
	k8sx509 "k8s.io/apiserver/pkg/authentication/request/x509"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// floorKey is the context key of BenchmarkParallel's context floor.
type floorKey struct{}

// okHandler is the service behind every middleware: the bare handler.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// sink is a ResponseWriter that keeps the status only.
type sink struct {
	h    http.Header
	code int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) WriteHeader(code int)        { s.code = code }

// serve sends r through h and returns the status.
func (s *sink) serve(h http.Handler, r *http.Request) int {
	clear(s.h)
	s.code = http.StatusOK
	h.ServeHTTP(s, r)
	return s.code
}

// serve runs one request per iteration through h; every answer must be
// 200 (or want).
func serve(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	b.ReportAllocs()
	w := &sink{h: http.Header{}}
	for b.Loop() {
		if code := w.serve(h, r); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
}

// parallel is serve under b.RunParallel.
func parallel(b *testing.B, h http.Handler, r *http.Request) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &sink{h: http.Header{}}
		for pb.Next() {
			if code := w.serve(h, r); code != http.StatusOK {
				b.Errorf("status %d", code)
				return
			}
		}
	})
}

func request(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil) // https:// targets get r.TLS
}

func basicRequest(user, pw string) *http.Request {
	r := request("GET", "https://api.example/api/hosts")
	r.SetBasicAuth(user, pw)
	return r
}

// slots: no CPU budget, so that uncached hashing runs flat out on both
// sides.
var slots = func() *pwcheck.HashSlots { s := pwcheck.NewHashSlots(0, 0); s.SetCPUShare(0); return s }()

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkBare is the handler alone: every other row's overhead is its
// time minus this.
func BenchmarkBare(b *testing.B) {
	serve(b, okHandler, request("GET", "https://api.example/api/hosts"))
}

// BenchmarkFloor is the least a credential check can be: a SHA-256 of the
// secret and a map lookup.
func BenchmarkFloor(b *testing.B) {
	secret := "gate_at_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
	sum := sha256.Sum256([]byte(secret))
	known := map[string]string{hex.EncodeToString(sum[:]): "wsuser"}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sha256.Sum256([]byte(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
		if _, ok := known[hex.EncodeToString(s[:])]; !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	r := request("GET", "https://api.example/api/hosts")
	r.Header.Set("Authorization", "Bearer "+secret)
	serve(b, h, r)
}

// BenchmarkMiddleware is gatehouse's middleware around an authenticator
// that does nothing (a fixed identity) and the default policy.
func BenchmarkMiddleware(b *testing.B) {
	id := &auth.Identity{User: "wsuser", Scheme: "test"}
	a := auth.IdentityFunc(func(*http.Request) (*auth.Identity, error) { return id, nil })
	b.Run("gatehouse", func(b *testing.B) {
		serve(b, auth.Middleware(a, auth.Config{})(okHandler), request("GET", "https://api.example/api/hosts"))
	})
}

// basicUncached: gatehouse's Basic with the password cache off, so that
// each request verifies the stored hash, as go-http-auth does.
func basicUncached(hash string) http.Handler {
	store := memstore.New()
	_ = store.PutUser(context.Background(), stores.User{Name: "wsuser", PasswordHash: hash})
	p := &pwcheck.Pipeline{Verifier: &pwcheck.StoreVerifier{Users: store, KeepLegacyHashes: true, Slots: slots, DummyHash: hash}}
	return auth.Middleware(basic.New(basic.Config{Passwords: p}), auth.Config{})(okHandler)
}

func goHTTPAuth(hash string) http.Handler {
	a := httpauth.NewBasicAuthenticator("api", func(user, realm string) string {
		if user == "wsuser" {
			return hash
		}
		return ""
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.CheckAuth(r) == "" {
			a.RequireAuth(w, r)
			return
		}
		okHandler(w, r)
	})
}

// cachedBasic is gatehouse's default Basic: the verified-credential cache
// answers after the first request (peers have no such cache).
func cachedBasic() http.Handler {
	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	p := pwcheck.New(pwcheck.Config{Users: store, Counter: store, Slots: slots})
	return auth.Middleware(basic.New(basic.Config{Passwords: p}), auth.Config{})(okHandler)
}

// BenchmarkBasicCached: gatehouse's cached Basic (no peer caches).
func BenchmarkBasicCached(b *testing.B) {
	b.Run("gatehouse", func(b *testing.B) { serve(b, cachedBasic(), basicRequest("wsuser", "cluster-secret")) })
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, basicRequest("wsuser", "cluster-secret")) })
}

// harness names each family's floor: the same request served the same way
// to the bare handler, with no authentication. A row's overhead is its
// time less its family's harness (cmd/benchtable).
const harness = "harness"

// tokens makes a token service over a store with wsuser.
func tokens() (memstore.Store, *token.Service) {
	store := authtest.Users(authtest.User{Login: "wsuser", Password: "cluster-secret"})
	return store, token.New(token.Config{Store: store, Users: store, TouchInterval: time.Hour})
}

// BenchmarkToken: an opaque X-Auth-Token (xCAT) and a PAT as the Basic
// password (Satellite).
func BenchmarkToken(b *testing.B) {
	store, svc := tokens()
	at := must(svc.IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, nil))
	r := request("GET", "https://api.example/xcatws/nodes")
	r.Header.Set("X-Auth-Token", at.Secret)
	b.Run("gatehouse-x-auth-token", func(b *testing.B) {
		serve(b, auth.Middleware(token.XAuthToken(svc.AccessTokens()), auth.Config{})(okHandler), r)
	})
	pat := must(svc.CreatePAT(context.Background(), token.PATSpec{Login: "wsuser", Name: "bench"}))
	p := pwcheck.New(pwcheck.Config{Users: store, Counter: store, Slots: slots})
	b.Run("gatehouse-pat", func(b *testing.B) {
		serve(b, auth.Middleware(basic.New(basic.Config{Passwords: p, Tokens: svc.PATs()}), auth.Config{})(okHandler), basicRequest("wsuser", pat.Secret))
	})
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, r) })
}

// BenchmarkSession: a request that carries a session cookie. gatehouse
// looks the session up in its store and re-checks its user; scs looks it up
// in its memory store and decodes it; gorilla/sessions verifies the
// cookie's HMAC and decodes it (no server-side state: it cannot be revoked).
func BenchmarkSession(b *testing.B) {
	store := authtest.Users(authtest.User{Login: "admin", Password: "pw"})
	mgr := session.New(session.Config{Store: store, Users: store},
		basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: store, Slots: slots})}))
	gh := auth.Middleware(mgr, auth.Config{})(okHandler)
	login := basicRequest("admin", "pw")
	login.Header.Set("Prefer", "persistent-auth")
	rec := httptest.NewRecorder()
	gh.ServeHTTP(rec, login)
	r := request("GET", "https://api.example/api/hosts")
	r.Header.Set("Prefer", "persistent-auth")
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	b.Run("gatehouse", func(b *testing.B) { serve(b, gh, r) })
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, r) })

	sm := scs.New()
	ctx, _ := sm.Load(context.Background(), "")
	sm.Put(ctx, "user", "admin")
	tok, _, _ := sm.Commit(ctx)
	rs := request("GET", "https://api.example/api/hosts")
	rs.AddCookie(&http.Cookie{Name: sm.Cookie.Name, Value: tok})
	hs := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sm.GetString(r.Context(), "user") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	}))
	b.Run("scs", func(b *testing.B) { serve(b, hs, rs) })

	cs := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"))
	rg := request("GET", "https://api.example/api/hosts")
	s, _ := cs.New(rg, "gh")
	s.Values["user"] = "admin"
	rec = httptest.NewRecorder()
	_ = s.Save(rg, rec)
	rg = request("GET", "https://api.example/api/hosts")
	for _, c := range rec.Result().Cookies() {
		rg.AddCookie(c)
	}
	hg := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := cs.New(r, "gh") // New decodes every time; Get would reuse a per-request registry
		if err != nil || s.Values["user"] != "admin" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	b.Run("gorilla-sessions", func(b *testing.B) { serve(b, hg, rg) })
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// signed returns n requests to target signed as Satellite's clients sign
// them (HMAC-SHA1, a fresh nonce each).
func signed(n int, key, secret, target string) []*http.Request {
	var out []*http.Request
	c := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{ConsumerKey: key, ConsumerSecret: secret, User: "admin",
		Base: roundTripper(func(r *http.Request) (*http.Response, error) {
			s := request(r.Method, target)
			s.Header = r.Header.Clone()
			out = append(out, s)
			return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
		})})
	for range n {
		res, _ := c.Get(target)
		res.Body.Close()
	}
	return out
}

// serveSigned serves one request per iteration, as serve does, with a new
// signature each time (a nonce is good once): requests are signed in
// batches outside the timer, and each iteration puts the next one's
// Authorization value into the one request served. Every row thus serves
// a request whose header map is warm, as a server's just-parsed request
// is; serving each signed request object itself (as the table did until
// session 6) also timed the first touch of a request that had left the
// CPU caches while 4095 others were made, which no other row pays.
func serveSigned(b *testing.B, h http.Handler, key, secret, target string) {
	serveSignedFrom(b, h, key, secret, target, func(n int) [][]string {
		out := make([][]string, 0, n)
		for _, s := range signed(n, key, secret, target) {
			out = append(out, s.Header["Authorization"])
		}
		return out
	})
}

// serveSignedFrom is serveSigned with the batches of Authorization values
// made by make.
func serveSignedFrom(b *testing.B, h http.Handler, key, secret, target string, make func(n int) [][]string) {
	w := &sink{h: http.Header{}}
	r := signed(1, key, secret, target)[0]
	inBatches(b, make, func(authorization []string) {
		r.Header["Authorization"] = authorization
		if code := w.serve(h, r); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	})
}

// reused makes one batch of batchSize with make and hands out that batch's
// items again for every later batch (for harnesses, whose bare handler
// does not care that an item comes twice).
func reused[T any](make func(n int) []T) func(n int) []T {
	var all []T
	return func(n int) []T {
		if all == nil {
			all = make(batchSize)
		}
		return all[:min(n, len(all))]
	}
}

// serveEach serves a different request each iteration, made in batches
// outside the timer (a request's body is read once).
func serveEach(b *testing.B, h http.Handler, make func(n int) []*http.Request) {
	w := &sink{h: http.Header{}}
	inBatches(b, make, func(r *http.Request) {
		if code := w.serve(h, r); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	})
}

// inBatches runs each once per iteration on the next of a batch of b.N
// items, made batchSize at a time by make outside the timer.
func inBatches[T any](b *testing.B, make func(n int) []T, each func(T)) {
	b.ReportAllocs()
	var batch, last []T
	for i := 0; i < b.N; i++ {
		if len(batch) == 0 {
			b.StopTimer()
			batch = make(min(b.N-i, batchSize))
			if len(last) == 0 || &batch[0] != &last[0] { // a batch handed out again (reused) made no garbage
				runtime.GC() // the batch's garbage is not the timed code's to collect
			}
			last = batch
			b.StartTimer()
		}
		each(batch[0])
		batch = batch[1:]
	}
}

// BenchmarkOAuth1: 1-legged HMAC-SHA1. gatehouse checks the timestamp, the
// nonce (once only) and maps FOREMAN-USER to a user; mrjones/oauth checks
// the signature and timestamp, no nonce.
func BenchmarkOAuth1(b *testing.B) {
	const key, secret, target = "katello", "katello-secret-2f6b1c", "https://api.example/api/hosts"
	store := authtest.Users(authtest.User{Login: "admin"})
	_ = store.PutConsumer(context.Background(), stores.Consumer{Key: key, Secret: secret})
	gh := auth.Middleware(oauth1.New(oauth1.Config{Consumers: store, Nonces: store, Users: store, UserHeader: "FOREMAN-USER"}), auth.Config{})(okHandler)
	b.Run("gatehouse", func(b *testing.B) {
		serveSigned(b, gh, key, secret, target)
	})
	provider := mroauth.NewProvider(func(k string, header map[string]string) (*mroauth.Consumer, error) {
		return mroauth.NewConsumer(k, secret, mroauth.ServiceProvider{}), nil
	})
	mh := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k, err := provider.IsAuthorized(r); err != nil || k == nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	b.Run("mrjones-oauth", func(b *testing.B) {
		serveSigned(b, mh, key, secret, target)
	})
	// The harness serves its batches again and again (the bare handler
	// checks no nonce): signing a batch for each of its millions of
	// iterations would take minutes outside the timer.
	b.Run(harness, func(b *testing.B) {
		serveSignedFrom(b, okHandler, key, secret, target, reused(func(n int) [][]string {
			out := make([][]string, 0, n)
			for _, s := range signed(n, key, secret, target) {
				out = append(out, s.Header["Authorization"])
			}
			return out
		}))
	})
}

// fositeProvider is fosite with its example store (client "my-client",
// secret "foobar" bcrypt-hashed; user "peter" with a plain-text password).
func fositeProvider() fosite.OAuth2Provider {
	cfg := &fosite.Config{AccessTokenLifespan: time.Hour, GlobalSecret: []byte("some-cool-secret-that-is-32bytes")}
	key := must(rsa.GenerateKey(rand.Reader, 2048))
	return compose.ComposeAllEnabled(cfg, fositestorage.NewExampleStore(), key)
}

// fositeGrant is fosite's token endpoint: the password grant.
func fositeGrant(p fosite.OAuth2Provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, err := p.NewAccessRequest(ctx, r, &fosite.DefaultSession{})
		if err != nil {
			p.WriteAccessError(ctx, w, req, err)
			return
		}
		for _, s := range req.GetRequestedScopes() {
			req.GrantScope(s)
		}
		res, err := p.NewAccessResponse(ctx, req)
		if err != nil {
			p.WriteAccessError(ctx, w, req, err)
			return
		}
		p.WriteAccessResponse(ctx, w, req, res)
	})
}

func grantRequest(target, user, pw string, clientAuth bool) *http.Request {
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}, "scope": {"fosite"}} // a scope its example client may ask for
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientAuth {
		r.SetBasicAuth("my-client", "foobar")
	}
	return r
}

// BenchmarkBearer: introspecting an opaque bearer token. gatehouse: a
// keyed hash, a store lookup, the owner re-checked; fosite: HMAC
// verification and a store lookup (no owner check).
func BenchmarkBearer(b *testing.B) {
	_, svc := tokens()
	at := must(svc.IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, []string{"ovirt-app-api"}))
	r := request("GET", "https://api.example/ovirt-engine/api")
	r.Header.Set("Authorization", "Bearer "+at.Secret)
	b.Run("gatehouse", func(b *testing.B) {
		serve(b, auth.Middleware(oauth2.NewBearer(oauth2.BearerConfig{Verifier: svc.AccessTokens()}), auth.Config{})(okHandler), r)
	})

	p := fositeProvider()
	rec := httptest.NewRecorder()
	fositeGrant(p).ServeHTTP(rec, grantRequest("https://api.example/token", "peter", "secret", true))
	tok := between(rec.Body.String(), `"access_token":"`, `"`)
	if tok == "" {
		b.Fatalf("fosite issued no token: %s", rec.Body)
	}
	fr := request("GET", "https://api.example/ovirt-engine/api")
	fr.Header.Set("Authorization", "Bearer "+tok)
	fh := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := fosite.AccessTokenFromRequest(r)
		if _, _, err := p.IntrospectToken(r.Context(), t, fosite.AccessToken, &fosite.DefaultSession{}); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	b.Run("fosite", func(b *testing.B) { serve(b, fh, fr) })
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, r) })
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// clientCertRequest is a request whose TLS handshake verified alice's
// certificate against ca.
func clientCertRequest(ca *mtls.CA) *http.Request {
	leaf := must(ca.IssueClient("alice", mtls.LeafOptions{}))
	r := request("GET", "https://api.example/v1/configuration/containers")
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{leaf.Cert, ca.Cert},
		VerifiedChains: [][]*x509.Certificate{{leaf.Cert, ca.Cert}}}
	return r
}

// BenchmarkClientCert: the identity of a client certificate the TLS
// handshake verified. gatehouse reads the handshake's verified chain;
// k8s.io/apiserver's x509 authenticator verifies the chain again on every
// request ("k8s-x509"); "k8s-mapping-only" is its CN-to-user step alone.
// "gatehouse-revocation-and-user" also checks the serial against a
// deny-list and the user against the user table.
func BenchmarkClientCert(b *testing.B) {
	ca := must(mtls.NewCA(mtls.CAOptions{ClusterName: "bench"}))
	r := clientCertRequest(ca)
	b.Run("gatehouse", func(b *testing.B) {
		serve(b, auth.Middleware(mtls.New(mtls.Config{Prefix: "user-"}), auth.Config{})(okHandler), r)
	})
	store := authtest.Users(authtest.User{Login: "alice"})
	b.Run("gatehouse-revocation-and-user", func(b *testing.B) {
		serve(b, auth.Middleware(mtls.New(mtls.Config{Prefix: "user-", Revoked: store, Users: store}), auth.Config{})(okHandler), r)
	})
	k := k8sx509.New(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, k8sx509.CommonNameUserConversion)
	kh := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := k.AuthenticateRequest(r); !ok || err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	b.Run("k8s-x509", func(b *testing.B) { serve(b, kh, r) })
	mh := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok, err := k8sx509.CommonNameUserConversion.User(r.TLS.VerifiedChains[0]); !ok || err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler(w, r)
	})
	b.Run("k8s-mapping-only", func(b *testing.B) { serve(b, mh, r) })
	b.Run(harness, func(b *testing.B) { serve(b, okHandler, r) })
}

// BenchmarkParallel: the cached paths under b.RunParallel, against the
// bare handler the same way.
//
// Run it with -cpu 1,N (cmd/benchtable does): a path's scaling is its
// time on one core over its time on N. "context-floor" is the least any
// net/http middleware that hands an identity to the handler must do: a
// context value and the request copy r.WithContext makes (two allocations,
// gatehouse's middleware's floor).
func BenchmarkParallel(b *testing.B) {
	b.Run("bare", func(b *testing.B) { parallel(b, okHandler, request("GET", "https://api.example/api/hosts")) })
	floorID := &auth.Identity{User: "wsuser", Scheme: "test"}
	contextFloor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		okHandler(w, r.WithContext(context.WithValue(r.Context(), floorKey{}, floorID)))
	})
	b.Run("context-floor", func(b *testing.B) { parallel(b, contextFloor, request("GET", "https://api.example/api/hosts")) })
	b.Run("basic-cached", func(b *testing.B) { parallel(b, cachedBasic(), basicRequest("wsuser", "cluster-secret")) })
	_, svc := tokens()
	at := must(svc.IssueAccess(context.Background(), &auth.Identity{User: "wsuser"}, nil))
	r := request("GET", "https://api.example/xcatws/nodes")
	r.Header.Set("X-Auth-Token", at.Secret)
	b.Run("token", func(b *testing.B) {
		parallel(b, auth.Middleware(token.XAuthToken(svc.AccessTokens()), auth.Config{})(okHandler), r)
	})
	ca := must(mtls.NewCA(mtls.CAOptions{ClusterName: "bench"}))
	b.Run("client-cert", func(b *testing.B) {
		parallel(b, auth.Middleware(mtls.New(mtls.Config{Prefix: "user-"}), auth.Config{})(okHandler), clientCertRequest(ca))
	})
}

// batchSize is how many items inBatches makes at a time.
const batchSize = 4096
