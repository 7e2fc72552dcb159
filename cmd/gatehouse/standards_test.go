package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPythonRevocationIntrospection: Python's authlib (Debian's
// python3-authlib) gets a token with the password grant from `serve`'s oVirt
// face, introspects it as a registered client (RFC 7662), revokes it (RFC
// 7009), introspects it again (inactive), and reads the RFC 8414 metadata
// that names those endpoints; then requests-oauthlib does the same with
// what oauthlib prepares.
func TestPythonRevocationIntrospection(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import authlib").Run(); err != nil {
		if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("python3-authlib not installed (apt-get install python3-authlib)")
		}
		t.Skip("python3-authlib not installed")
	}
	data := t.TempDir()
	s := startServer(t, data, "--demo")
	c := s.creds(t)
	cli(t, data, "rs-secret-0123456789\n", "oauth2", "client", "add", "resource-server", "--secret-stdin")
	script := `
import json, sys, requests
from authlib.integrations.requests_client import OAuth2Session
base, ca, pw = sys.argv[1], sys.argv[2], sys.argv[3]
meta = requests.get(base + "/.well-known/oauth-authorization-server", verify=ca).json()
user = OAuth2Session("ovirt-engine-sdk", scope="ovirt-app-api")
user.verify = ca
tok = user.fetch_token(meta["token_endpoint"], username="admin@internal", password=pw, grant_type="password", verify=ca)
rs = OAuth2Session("resource-server", "rs-secret-0123456789")
rs.verify = ca
before = rs.introspect_token(meta["introspection_endpoint"], token=tok["access_token"], verify=ca).json()
revoked = user.revoke_token(meta["revocation_endpoint"], token=tok["access_token"], token_type_hint="access_token", verify=ca)
after = rs.introspect_token(meta["introspection_endpoint"], token=tok["access_token"], verify=ca).json()
api = requests.get(base + "/ovirt-engine/api", headers={"Authorization": "Bearer " + tok["access_token"]}, verify=ca)
print(json.dumps({"before": before, "revoke": revoked.status_code, "after": after, "api": api.status_code}))
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, s.base, filepath.Join(data, "ca", "cluster.crt"), c.ovirtPW).CombinedOutput()
	if err != nil {
		t.Fatalf("authlib: %v\n%s\nserver: %s", err, out, s.stderr)
	}
	got := string(out)
	for _, want := range []string{`"before": {"active": true`, `"username": "admin@internal"`, `"scope": "ovirt-app-api"`,
		`"revoke": 200`, `"after": {"active": false}`, `"api": 401`} {
		if !strings.Contains(got, want) {
			t.Errorf("authlib: missing %s in %s", want, got)
		}
	}

	// requests-oauthlib (Debian's python3-requests-oauthlib): the password
	// grant with its LegacyApplicationClient, revocation as oauthlib
	// prepares it (prepare_token_revocation_request), introspection posted
	// with the session as a registered client.
	script = `
import json, sys
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session
base, ca, pw = sys.argv[1], sys.argv[2], sys.argv[3]
s = OAuth2Session(client=LegacyApplicationClient(client_id="ovirt-engine-sdk"), scope=["ovirt-app-api"])
tok = s.fetch_token(base + "/ovirt-engine/sso/oauth/token", username="admin@internal", password=pw, verify=ca)
api_before = s.get(base + "/ovirt-engine/api", verify=ca).status_code
url, headers, body = s._client.prepare_token_revocation_request(base + "/ovirt-engine/sso/oauth/revoke", tok["access_token"], token_type_hint="access_token")
revoked = s.post(url, data=body, headers=headers, verify=ca, withhold_token=True).status_code
info = s.post(base + "/ovirt-engine/sso/oauth/token-info", data={"token": tok["access_token"]}, auth=("resource-server", "rs-secret-0123456789"), verify=ca, withhold_token=True).json()
api_after = s.get(base + "/ovirt-engine/api", verify=ca).status_code
print(json.dumps({"before": api_before, "revoke": revoked, "info": info, "after": api_after}))
`
	out, err = exec.Command("/usr/bin/python3", "-c", script, s.base, filepath.Join(data, "ca", "cluster.crt"), c.ovirtPW).CombinedOutput()
	if err != nil {
		t.Fatalf("requests-oauthlib: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != `{"before": 200, "revoke": 200, "info": {"active": false}, "after": 401}` {
		t.Errorf("requests-oauthlib: %s", got)
	}
}
