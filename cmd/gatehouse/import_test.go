package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// TestImports imports the four file kinds, checks the report (what was
// skipped and why, never a hash) and then logs in with the imported
// passwords through the Satellite face over the same database.
func TestImports(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"import", "xcat-passwd", "../../importer/testdata/xcat-passwd.csv"}, []string{
			"imported 2 users (2 new, 0 updated), disabled 0, skipped 5",
			`line 2 (xcat_key): key "omapi" is a device credential`,
			"line 3 (root): key \"system\"", "line 4 (USERID)", "line 7 (gone): locked or disabled, with no password: not created", "line 8 (nopw): no password"}},
		{[]string{"import", "htpasswd", "../../importer/testdata/htpasswd"}, []string{
			"imported 3 users (3 new, 0 updated), disabled 0, skipped 2", "line 6 (desuser): DES crypt reads only the first 8 characters", "line 7: not login:hash"}},
		{[]string{"import", "shadow", "../../importer/testdata/shadow", "alice", "bob", "carol", "dave", "wsuser"}, []string{
			"imported 2 users (2 new, 0 updated), disabled 1, skipped 3", "line 5 (carol): locked or disabled, with no password: not created", "dave: not in the file", "wsuser: not in the file"}},
		{[]string{"import", "xcat-policy", "../../importer/testdata/xcat-policy.csv"}, []string{
			"imported 4 rules, skipped 3", `line 3 (mgmt01): rule "trusted"`, "line 4: restricted by commands", "line 5: restricted by commands"}},
		{[]string{"import", "xcat-policy", "../../importer/testdata/xcat-policy.csv"}, []string{
			"imported 0 rules, skipped 7", "priority 1: a rule with this priority exists already"}},
	} {
		out, errOut, code := runIn(data, "", c.args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, errOut)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, w, out)
			}
		}
		if strings.Contains(out, "$6$") || strings.Contains(out, "$2y$") || strings.Contains(out, "cluster-secret") {
			t.Errorf("%v: the report shows a secret:\n%s", c.args, out)
		}
	}
	if _, errOut, code := runIn(data, "", "import", "xcat-passwd", "../../importer/testdata/htpasswd"); code != 1 || !strings.Contains(errOut, "nothing imported") {
		t.Errorf("wrong file: exit %d %q", code, errOut)
	}

	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{SQLitePath: filepath.Join(data, "gatehouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if u, err := s.User(ctx, "wsuser"); err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("xCAT's plain password was not hashed: %v", err)
	}
	rules, _ := s.Rules(ctx)
	if len(rules) != 4 || rules[2].Subject != "guest" || rules[2].Verdict != auth.Deny || !rules[3].Disabled || rules[3].Subject != "*" {
		t.Errorf("rules: %+v", rules)
	}
	srv := httptest.NewTLSServer(preset.New(preset.From(s), preset.Options{HashSlots: authtest.Slots}).Satellite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	for _, c := range []struct {
		user, pw string
		want     int
	}{
		{"wsuser", "cluster-secret", 200},  // xCAT plain → argon2id, rule 5
		{"bcuser", "cluster-secret", 403},  // htpasswd bcrypt; no rule allows bcuser
		{"apruser", "cluster-secret", 403}, // htpasswd $apr1$, upgraded below
		{"shauser", "cluster-secret", 403}, // htpasswd {SHA}
		{"apruser", "wrong", 401},
		{"alice", "cluster-secret", 403},  // shadow sha512-crypt; no rule
		{"bob", "cluster-secret", 401},    // locked in shadow: imported disabled
		{"root", "cluster-secret", 401},   // system key: not imported
		{"hashed", "cluster-secret", 403}, // xCAT crypt hash
		{"wsuser", "wrong", 401},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
		req.SetBasicAuth(c.user, c.pw)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.user, resp.StatusCode, c.want)
		}
	}
}

// Attack (failed before the fix: carol kept working): an account locked in
// /etc/shadow after it was imported — "!" before its hash, "!" or "*"
// alone, or past its expiry day — is disabled on the next import, for
// existing users as for new ones; so is an xCAT passwd row marked
// disabled. An unlocked line does not undo a disable made in gatehouse.
func TestImportLocksExistingAccounts(t *testing.T) {
	data := t.TempDir()
	const hash = "$6$a2PDWrj7qZZ0nFDc$8vP5kPJH1iim3udBYTd9mqJGlhNoFF4DZ7Vf4kkd1ZBQshk5drmfSLROjh8vlf84W6tUCN3.svMmvyptWqU4l/" // cluster-secret
	write := func(name, text string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := write("shadow", "carol:"+hash+":19700:0:99999:7:::\ndan:"+hash+":19700:0:99999:7:::\nerin:"+hash+":19700:0:99999:7:::\nfred:"+hash+":19700:0:99999:7:::\n")
	if out, errOut, code := runIn(data, "", "import", "shadow", open, "carol", "dan", "erin", "fred"); code != 0 || !strings.Contains(out, "4 new") {
		t.Fatalf("first import: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := runIn(data, "", "policy", "add", "--priority", "1", "--subject", "*", "--rule", "allow"); code != 0 {
		t.Fatal(errOut)
	}
	locked := write("shadow", "carol:!"+hash+":19700:0:99999:7:::\ndan:!:19700:0:99999:7:::\nerin:"+hash+":19700:0:99999:7::1:\nfred:*:19700:0:99999:7:::\n")
	out, errOut, code := runIn(data, "", "import", "shadow", locked, "carol", "dan", "erin", "fred")
	if code != 0 || !strings.Contains(out, "disabled 4") {
		t.Errorf("locking import: %d %s %s", code, out, errOut)
	}
	xcat := write("passwd.csv", "#key,username,password,cryptmethod,authdomain,comments,disable\n\"xcat\",\"gina\",\"cluster-secret\",,,,\n")
	if _, errOut, code := runIn(data, "", "import", "xcat-passwd", xcat); code != 0 {
		t.Fatal(errOut)
	}
	xcatOff := write("passwd.csv", "#key,username,password,cryptmethod,authdomain,comments,disable\n\"xcat\",\"gina\",\"cluster-secret\",,,,\"1\"\n")
	if out, errOut, code := runIn(data, "", "import", "xcat-passwd", xcatOff); code != 0 || !strings.Contains(out, "disabled 1") {
		t.Errorf("disabled xCAT row: %d %s %s", code, out, errOut)
	}
	// The open file again: carol stays disabled.
	if _, errOut, code := runIn(data, "", "import", "shadow", open, "carol"); code != 0 {
		t.Fatal(errOut)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{SQLitePath: filepath.Join(data, "gatehouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewTLSServer(preset.New(preset.From(s), preset.Options{HashSlots: authtest.Slots}).Satellite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	for _, user := range []string{"carol", "dan", "erin", "fred", "gina"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
		req.SetBasicAuth(user, "cluster-secret")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s, locked in the imported file: %d, want 401", user, resp.StatusCode)
		}
	}
}
