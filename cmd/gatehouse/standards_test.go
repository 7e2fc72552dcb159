package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthlibRevocationIntrospection: Python's authlib (Debian's
// python3-authlib) gets a token with the password grant from `serve`'s oVirt
// face, introspects it as a registered client (RFC 7662), revokes it (RFC
// 7009), introspects it again (inactive), and reads the RFC 8414 metadata
// that names those endpoints.
func TestAuthlibRevocationIntrospection(t *testing.T) {
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
}
