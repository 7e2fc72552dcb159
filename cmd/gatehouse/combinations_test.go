package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauthsig"
	"github.com/gatehouse/gatehouse/internal/testservers"
)

// storeCombination is one supported way to run `serve`; env makes the
// environment of a fresh store of that kind (GATEHOUSE_DB, GATEHOUSE_REDIS).
type storeCombination struct {
	name string
	env  func(t *testing.T) map[string]string
}

// redisDB hands each use of Redis a database number of its own, so that
// throttle counters and sessions of one test never reach the next.
var redisDB = 0

// storeCombinations are SQLite alone, SQLite + Redis, PostgreSQL alone and
// PostgreSQL + Redis.
var storeCombinations = []storeCombination{
	{"sqlite", func(t *testing.T) map[string]string { return map[string]string{} }},
	{"sqlite+redis", func(t *testing.T) map[string]string { return map[string]string{"GATEHOUSE_REDIS": freshRedis(t)} }},
	{"postgres", func(t *testing.T) map[string]string {
		return map[string]string{"GATEHOUSE_DB": testservers.PostgresDSN(t)}
	}},
	{"postgres+redis", func(t *testing.T) map[string]string {
		return map[string]string{"GATEHOUSE_DB": testservers.PostgresDSN(t), "GATEHOUSE_REDIS": freshRedis(t)}
	}},
}

func freshRedis(t *testing.T) string {
	redisDB = redisDB%15 + 1
	return fmt.Sprintf("redis://%s/%d", testservers.RedisAddr(t), redisDB)
}

// TestStoreCombinations runs every curl and CLI line of README.md and
// docs/*.md (docCommandLines: all eight schemes, the token endpoints, PAT
// creation, user and certificate management) against `serve --demo` on
// each supported store combination, then the hostile-bytes set on every credential field of every face.
// PostgreSQL without Redis failed before the fix: every uncached password
// login got 503 (the throttle key held a NUL, which PostgreSQL's TEXT
// refuses), and OAuth 1 with a consumer key of invalid UTF-8 got 503.
func TestStoreCombinations(t *testing.T) {
	for _, c := range storeCombinations {
		t.Run(c.name, func(t *testing.T) {
			t.Run("readme", func(t *testing.T) { readmeCurlLines(t, c.env(t)) })
			t.Run("hostile bytes", func(t *testing.T) { hostileBytes(t, c.env(t)) })
		})
	}
}

// hostileValues are what an attacker puts in a credential field: a NUL,
// invalid UTF-8, a cut multi-byte character, and 4 KiB.
var hostileValues = []string{"adm\x00in", "adm\xffin", "admin\xc3", strings.Repeat("a", 4096)}

// hostileBytes sends every hostileValue in every credential field of every
// face, raw over TLS (Go's client will not send a NUL in a header), and
// expects 400 or 401: never a 5xx, which would be an outage anyone can
// loop. Afterwards every face still works and /readyz is 200.
func hostileBytes(t *testing.T, storeEnv map[string]string) {
	data := t.TempDir()
	args := []string{"--demo"}
	if v := storeEnv["GATEHOUSE_DB"]; v != "" {
		args = append(args, "--db", v)
	}
	if v := storeEnv["GATEHOUSE_REDIS"]; v != "" {
		args = append(args, "--redis", v)
	}
	s := startServer(t, data, args...)
	c := s.creds(t)
	addr := strings.TrimPrefix(s.base, "https://")
	pemBytes, err := os.ReadFile(filepath.Join(data, "ca", "cluster.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	send := func(raw string) int {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	get := func(path string, headers ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n" + strings.Join(headers, "") + "Connection: close\r\n\r\n"
	}
	post := func(path, contentType, body string, headers ...string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: " + contentType + "\r\nContent-Length: " +
			fmt.Sprint(len(body)) + "\r\n" + strings.Join(headers, "") + "Connection: close\r\n\r\n" + body
	}
	h := func(name, value string) string { return name + ": " + value + "\r\n" }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	jsonString := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	// oauth1 signs GET path as the demo's consumer with the given key and
	// nonce (the signature is right only for the demo's key).
	oauth1 := func(path, key, nonce string) string {
		u, _ := url.Parse(s.base + path)
		params := []oauthsig.Param{{Name: "oauth_consumer_key", Value: key}, {Name: "oauth_signature_method", Value: "HMAC-SHA1"},
			{Name: "oauth_timestamp", Value: fmt.Sprint(time.Now().Unix())}, {Name: "oauth_nonce", Value: nonce}, {Name: "oauth_version", Value: "1.0"}}
		base := oauthsig.BaseString("GET", oauthsig.BaseURI(u.Scheme, u.Host, u.EscapedPath()), params)
		params = append(params, oauthsig.Param{Name: "oauth_signature", Value: oauthsig.HMACSignature("HMAC-SHA1", base, c.consumerSecret, "")})
		parts := make([]string, len(params))
		for i, p := range params {
			parts[i] = p.Name + `="` + oauthsig.Encode(p.Value) + `"`
		}
		return "OAuth " + strings.Join(parts, ", ")
	}
	nonce := 0
	fresh := func() string { nonce++; return fmt.Sprint("n", time.Now().UnixNano(), nonce) }

	for vi, v := range hostileValues {
		cases := map[string]string{
			"xcat basic user":       get("/xcatws/nodes", h("Authorization", "Basic "+b64(v+":pw"))),
			"xcat basic password":   get("/xcatws/nodes", h("Authorization", "Basic "+b64("wsuser:"+v))),
			"xcat query user":       get("/xcatws/nodes?userName=" + url.QueryEscape(v) + "&userPW=pw"),
			"xcat query password":   get("/xcatws/nodes?userName=wsuser&userPW=" + url.QueryEscape(v)),
			"xcat legacy password":  get("/xcatws/nodes?userName=wsuser&password=" + url.QueryEscape(v)),
			"xcat token user":       post("/xcatws/tokens", "application/json", `{"userName":`+jsonString(v)+`,"userPW":"pw"}`),
			"xcat token password":   post("/xcatws/tokens", "application/json", `{"userName":"wsuser","userPW":`+jsonString(v)+`}`),
			"xcat X-Auth-Token":     get("/xcatws/nodes", h("X-Auth-Token", v)),
			"satellite basic user":  get("/api/status", h("Authorization", "Basic "+b64(v+":pw"))),
			"satellite PAT":         get("/api/status", h("Authorization", "Basic "+b64("admin:gate_pat_"+v))),
			"oauth1 consumer key":   get("/api/architectures", h("Authorization", oauth1("/api/architectures", v, fresh())), h("FOREMAN-USER", "admin")),
			"oauth1 nonce":          get("/api/architectures", h("Authorization", oauth1("/api/architectures", "katello", v)), h("FOREMAN-USER", "admin")),
			"oauth1 FOREMAN-USER":   get("/api/architectures", h("Authorization", oauth1("/api/architectures", "katello", fresh())), h("FOREMAN-USER", v)),
			"oauth1 two users":      get("/api/architectures", h("Authorization", oauth1("/api/architectures", "katello", fresh())), h("FOREMAN-USER", "eve"), h("FOREMAN-USER", "admin")),
			"ovirt basic user":      get("/ovirt-engine/api", h("Authorization", "Basic "+b64(v+"@internal:pw"))),
			"ovirt bearer":          get("/ovirt-engine/api", h("Authorization", "Bearer "+v)),
			"ovirt session cookie":  get("/ovirt-engine/api", h("Cookie", "JSESSIONID="+v)),
			"ovirt grant user":      post("/ovirt-engine/sso/oauth/token", "application/x-www-form-urlencoded", "grant_type=password&scope=ovirt-app-api&username="+url.QueryEscape(v)+"&password=pw"),
			"ovirt grant password":  post("/ovirt-engine/sso/oauth/token", "application/x-www-form-urlencoded", "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password="+url.QueryEscape(v)),
			"ovirt grant client_id": post("/ovirt-engine/sso/oauth/token", "application/x-www-form-urlencoded", "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=pw&client_id="+url.QueryEscape(v)),
			"ovirt revoke token":    post("/ovirt-engine/sso/oauth/revoke", "application/x-www-form-urlencoded", "token="+url.QueryEscape(v)),
		}
		for name, raw := range cases {
			code := send(raw)
			switch {
			case code == 400 || code == 401:
			case code == 429 && strings.Contains(name, "password"):
				// The same user's wrong passwords from one address: the
				// throttle's answer, as it should be.
			case code == 200 && name == "ovirt revoke token":
				// RFC 7009 §2.2: an invalid token is revoked with 200.
			default:
				t.Errorf("%s = hostile value %d: %d, want 400 or 401", name, vi, code)
			}
		}
	}
	if strings.Contains(s.stderr.String(), "invalid byte sequence") || strings.Contains(s.stderr.String(), "panic") {
		t.Errorf("the server logged a store failure or panic:\n%s", s.stderr)
	}
	// Nothing stored was lost, and the store is healthy (wsuser's wrong
	// passwords from this address are throttled for now).
	hc := caClient(t, data)
	for _, req := range []*http.Request{
		basicRequest(s.base+"/api/status", "admin", c.pat),
		basicRequest(s.base+"/ovirt-engine/api", "admin@internal", c.ovirtPW),
	} {
		if code, body := getStatus(t, hc, req); code != 200 {
			t.Errorf("%s after the hostile set: %d %s", req.URL.Path, code, body)
		}
	}
	if code := send(get("/readyz")); code != 200 {
		t.Errorf("/readyz after the hostile set: %d", code)
	}
}

func basicRequest(u, user, pw string) *http.Request {
	req, _ := http.NewRequest("GET", u, nil)
	req.SetBasicAuth(user, pw)
	return req
}
