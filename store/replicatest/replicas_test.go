package replicatest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dghubble "github.com/dghubble/oauth1"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

var hashKey = []byte("replica-test-hash-key-0123456789")

func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_HELPER") == "serve" {
		serveHelper()
		return
	}
	code := m.Run()
	testservers.StopAll()
	os.Exit(code)
}

// replica is one instance of a service: its own token service, session
// manager and authenticators, over the shared stores.
type replica struct {
	srv    *httptest.Server
	tokens *token.Service
}

func newReplica(t *testing.T, db sqlstore.Store, rs redisstore.Store) *replica {
	tokens := token.New(token.Config{Store: db, Users: db, HashKey: hashKey, TouchInterval: time.Millisecond})
	passwords := pwcheck.NewCache(pwcheck.CacheConfig{Next: authtest.Verifier(t, db), Users: db, TTL: time.Minute})
	throttle := &pwcheck.Throttle{Counter: rs}
	inner := auth.Chain(
		token.XAuthToken(tokens.AccessTokens()),
		oauth1.New(oauth1.Config{Consumers: db, Nonces: rs, Users: db}),
		basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.AcceptTokens(tokens.PATs(), passwords), Throttle: throttle}}),
	)
	sessions := session.New(session.Config{Store: rs, Users: db}, inner)
	mux := http.NewServeMux()
	mux.Handle("/tokens", &preset.XCATTokens{Service: tokens, Passwords: &pwcheck.Pipeline{Verifier: passwords, Throttle: throttle}})
	mux.Handle("/api/", auth.Middleware(sessions, auth.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		io.WriteString(w, id.Scheme+":"+id.Login())
	})))
	r := &replica{srv: httptest.NewTLSServer(mux), tokens: tokens}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *replica) do(t *testing.T, method, path string, body string, setup func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if setup != nil {
		setup(req)
	}
	resp, err := r.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestTwoReplicas(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, testservers.PostgresDSN(t))
	require.NoError(t, err)
	defer db.Close()
	rs := redisstore.New(redis.NewClient(&redis.Options{Addr: testservers.RedisAddr(t)}), fmt.Sprintf("replicas:%d:", time.Now().UnixNano()))
	defer rs.Close()
	authtest.PutUser(t, db, authtest.User{Login: "admin", Password: "pw"})
	require.NoError(t, db.PutConsumer(ctx, stores.Consumer{Key: "katello", Secret: "katello-secret-2f6b1c"}))
	a, b := newReplica(t, db, rs), newReplica(t, db, rs)

	t.Run("token issued on A is accepted on B", func(t *testing.T) {
		resp, body := a.do(t, "POST", "/tokens", `{"userName":"admin","userPW":"pw"}`, nil)
		require.Equal(t, 201, resp.StatusCode, body)
		var issued struct {
			Token struct {
				ID string `json:"id"`
			} `json:"token"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &issued))
		resp, body = b.do(t, "GET", "/api/x", "", func(r *http.Request) { r.Header.Set("X-Auth-Token", issued.Token.ID) })
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "token:admin", body)
	})

	t.Run("PAT revoked on A is rejected on B at the next request", func(t *testing.T) {
		pat, err := a.tokens.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "replicas"})
		require.NoError(t, err)
		withPAT := func(r *http.Request) { r.SetBasicAuth("admin", pat.Secret) }
		resp, body := b.do(t, "GET", "/api/x", "", withPAT)
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "pat:admin", body)
		require.NoError(t, a.tokens.Revoke(ctx, "admin", pat.Token.ID))
		resp, _ = b.do(t, "GET", "/api/x", "", withPAT)
		assert.Equal(t, 401, resp.StatusCode)
	})

	t.Run("session created on A is used on B", func(t *testing.T) {
		resp, _ := a.do(t, "GET", "/api/x", "", func(r *http.Request) {
			r.SetBasicAuth("admin", "pw")
			r.Header.Set("Prefer", "persistent-auth")
		})
		require.Equal(t, 200, resp.StatusCode)
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "JSESSIONID" {
				cookie = c
			}
		}
		require.NotNil(t, cookie)
		resp, body := b.do(t, "GET", "/api/x", "", func(r *http.Request) {
			r.AddCookie(cookie)
			r.Header.Set("Prefer", "persistent-auth")
		})
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "session:admin", body)
	})

	t.Run("OAuth nonce used on A is refused on B", func(t *testing.T) {
		var captured *http.Request
		capture := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			captured = r.Clone(r.Context())
			return a.srv.Client().Transport.RoundTrip(r)
		})
		ctxc := context.WithValue(ctx, dghubble.HTTPClient, &http.Client{Transport: capture})
		c := dghubble.NewConfig("katello", "katello-secret-2f6b1c").Client(ctxc, dghubble.NewToken("", ""))
		req, _ := http.NewRequest("GET", a.srv.URL+"/api/hosts", nil)
		req.Header.Set("FOREMAN-USER", "admin")
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)

		// The same signed request, replayed to B (whose host differs, so
		// point it at B's address but keep A's signed URL in Host).
		replay, _ := http.NewRequest("GET", b.srv.URL+"/api/hosts", nil)
		replay.Header = captured.Header.Clone()
		replay.Host = captured.URL.Host
		resp, err = b.srv.Client().Do(replay)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode)
		assert.Contains(t, string(body), "replayed nonce")
	})

	t.Run("failures counted on A throttle on B", func(t *testing.T) {
		authtest.PutUser(t, db, authtest.User{Login: "victim", Password: "right"})
		for range 10 {
			a.do(t, "GET", "/api/x", "", func(r *http.Request) { r.SetBasicAuth("victim", "guess") })
		}
		resp, _ := b.do(t, "GET", "/api/x", "", func(r *http.Request) { r.SetBasicAuth("victim", "right") })
		assert.Equal(t, 429, resp.StatusCode)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serveHelper is the child process of TestKillAfterCreate: it opens the
// store named by its environment and serves POST /pat until killed.
func serveHelper() {
	ctx := context.Background()
	var db sqlstore.Store
	var err error
	if path := os.Getenv("GATEHOUSE_HELPER_SQLITE"); path != "" {
		db, err = sqlstore.OpenSQLite(ctx, path)
	} else {
		db, err = sqlstore.OpenPostgres(ctx, os.Getenv("GATEHOUSE_HELPER_PG"))
	}
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	tokens := token.New(token.Config{Store: db, Users: db, HashKey: hashKey})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issued, err := tokens.CreatePAT(r.Context(), token.PATSpec{Login: "admin", Name: r.URL.Query().Get("name")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"token_value": issued.Secret})
	}))
	srv.Start()
	fmt.Println("LISTEN", srv.URL)
	select {}
}

func TestKillAfterCreate(t *testing.T) {
	ctx := context.Background()
	for name, env := range map[string]func() (string, func() (sqlstore.Store, error)){
		"sqlite": func() (string, func() (sqlstore.Store, error)) {
			path := filepath.Join(t.TempDir(), "kill.db")
			return "GATEHOUSE_HELPER_SQLITE=" + path, func() (sqlstore.Store, error) { return sqlstore.OpenSQLite(ctx, path) }
		},
		"postgres": func() (string, func() (sqlstore.Store, error)) {
			dsn := testservers.PostgresDSN(t)
			return "GATEHOUSE_HELPER_PG=" + dsn, func() (sqlstore.Store, error) { return sqlstore.OpenPostgres(ctx, dsn) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			setting, open := env()
			db, err := open()
			require.NoError(t, err)
			authtest.PutUser(t, db, authtest.User{Login: "admin", Password: "pw"})
			db.Close()

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "GATEHOUSE_HELPER=serve", setting)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(out).ReadString('\n')
			require.NoError(t, err)
			url, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
			require.True(t, ok, line)

			resp, err := http.Post(url+"/pat?name=survivor", "text/plain", nil)
			require.NoError(t, err)
			var created map[string]string
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
			resp.Body.Close()
			require.Equal(t, 201, resp.StatusCode)
			require.NoError(t, cmd.Process.Kill()) // SIGKILL, right after the 201
			_ = cmd.Wait()

			db, err = open()
			require.NoError(t, err)
			defer db.Close()
			tokens := token.New(token.Config{Store: db, Users: db, HashKey: hashKey})
			id, err := tokens.Verify(ctx, created["token_value"], token.PrefixPAT, auth.SchemePAT)
			require.NoError(t, err, "the PAT survived the kill")
			assert.Equal(t, "admin", id.User)
		})
	}
}
