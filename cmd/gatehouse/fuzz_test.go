package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/preset"
)

// FuzzReferenceHandler reads arbitrary bytes as an HTTP request and serves
// them on what `gatehouse serve` serves: the four faces over the sample
// API (with Foreman's personal access token API and its JSON and time
// parsing), the self-service page, the OAuth metadata and the CA
// downloads. Over plain HTTP, TLS, or TLS with the fixture's client
// certificate, no handler panics, nothing answers 5xx, and no stored
// secret reaches a response unless the request carried it.
func FuzzReferenceHandler(f *testing.F) {
	fx := authtest.New(f)
	h := newReferenceHandler(fx.Presets, fx.CA, nil, sampleAPI(fx.Presets), nil)
	conns := []authtest.Conn{{}, {TLS: true}, fx.ClientCertConn()}
	secrets := []string{authtest.XCATPassword, authtest.SatellitePassword, authtest.OVirtPassword, authtest.ConsumerSecret, fx.PAT}

	for _, seed := range referenceSeeds(fx.PAT) {
		for c := range uint8(len(conns)) {
			f.Add(c, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, conn uint8, raw []byte) {
		rec := authtest.ServeRaw(h, raw, conns[int(conn)%len(conns)])
		if rec == nil {
			return
		}
		if rec.Code >= 500 {
			t.Errorf("status %d for %.300q (connection %d): %.300s", rec.Code, raw, int(conn)%len(conns), rec.Body.String())
		}
		for _, secret := range secrets {
			if !bytes.Contains(raw, []byte(secret)) && strings.Contains(rec.Body.String(), secret) {
				t.Errorf("stored secret %q in the response to %.300q", secret, raw)
			}
		}
	})
}

// TestReferenceSeedsReachTheHandlers keeps FuzzReferenceHandler from
// fuzzing nothing: over TLS each well-formed seed gets a 2xx (the
// self-service page's form, a PAT made, listed and revoked).
func TestReferenceSeedsReachTheHandlers(t *testing.T) {
	fx := authtest.New(t)
	h := newReferenceHandler(fx.Presets, fx.CA, nil, sampleAPI(fx.Presets), nil)
	seeds := referenceSeeds(fx.PAT)
	ok := 0
	for _, s := range seeds {
		rec := authtest.ServeRaw(h, []byte(s), authtest.Conn{TLS: true})
		if rec == nil {
			t.Errorf("seed %.80q is not a request", s)
			continue
		}
		if rec.Code/100 == 2 {
			ok++
		}
	}
	if ok < len(seeds)/2 {
		t.Errorf("only %d of %d seeds got a 2xx over TLS", ok, len(seeds))
	}
}

// referenceSeeds are well-formed requests for each of the reference
// server's routes, and a few broken ones; pat is the fixture's PAT.
func referenceSeeds(pat string) []string {
	basic := func(login, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+pw))
	}
	admin := basic(authtest.SatelliteUser, authtest.SatellitePassword)
	request := func(method, path, authorization, contentType, body string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gatehouse.example\r\n", method, path)
		if authorization != "" {
			fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
		}
		if contentType != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType)
		}
		if body != "" {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
		}
		return b.String() + "\r\n" + body
	}
	pats := preset.SatellitePrefix + "users/" + authtest.SatelliteUser + "/personal_access_tokens"
	return []string{
		request("GET", "/xcatws/nodes?userName="+authtest.XCATUser+"&userPW="+authtest.XCATPassword, "", "", ""),
		request("POST", "/xcatws/tokens", "", "application/json", `{"userName":"`+authtest.XCATUser+`","userPW":"`+authtest.XCATPassword+`"}`),
		request("GET", "/api/status", admin, "", ""),
		request("GET", "/api/architectures", basic(authtest.SatelliteUser, pat), "", ""),
		request("POST", pats, admin, "application/json", `{"personal_access_token":{"name":"ci","expires_at":"2099-01-01"}}`),
		request("POST", pats, admin, "application/json", `{"personal_access_token":{"name":"ci2","expires_at":"2099-01-01T00:00:00Z"}}`),
		request("GET", pats, admin, "", ""),
		request("POST", pats, admin, "application/json", `{"personal_access_token":{"name":"x","expires_at":"yesterday"}}`),
		request("DELETE", pats+"/no-such-id", admin, "", ""),
		request("GET", "/ovirt-engine/api", basic(authtest.OVirtUser, authtest.OVirtPassword), "", ""),
		request("POST", preset.OVirtTokenPath, "", "application/x-www-form-urlencoded",
			"grant_type=password&scope=ovirt-app-api&username=admin%40internal&password="+authtest.OVirtPassword),
		request("GET", "/v1/configuration/containers", "", "", ""),
		request("GET", preset.SelfServicePrefix, "", "", ""),
		request("POST", preset.SelfServicePrefix+"login", "", "application/x-www-form-urlencoded", "login=admin&password=x"),
		request("GET", preset.OAuthMetadataPath, "", "", ""),
		request("GET", "/ca.crt", "", "", ""),
		request("GET", xcatCAPath, "", "", ""),
	}
}
