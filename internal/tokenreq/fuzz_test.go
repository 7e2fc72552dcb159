package tokenreq_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/tokenreq"
)

func FuzzParse(f *testing.F) {
	f.Add("grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=mypassword")
	f.Add("grant_type=refresh_token&refresh_token=x&scope=a+b")
	f.Add("a=1&a=2")
	f.Add("username=%zz")
	f.Add("password=%00")
	f.Fuzz(func(t *testing.T, body string) {
		tr, err := tokenreq.Parse(body)
		if err != nil {
			if err.Code != "invalid_request" || err.Message == "" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if strings.ContainsRune(tr.Password, 0) || strings.ContainsRune(tr.ClientSecret, 0) {
			t.Fatal("NUL accepted in a secret")
		}
		// Round trip: re-encoding what was parsed gives the same request.
		v := url.Values{}
		for k, s := range map[string]string{"grant_type": tr.GrantType, "username": tr.Username, "password": tr.Password,
			"refresh_token": tr.RefreshToken, "client_id": tr.ClientID, "client_secret": tr.ClientSecret, "scope": strings.Join(tr.Scope, " ")} {
			if s != "" {
				v.Set(k, s)
			}
		}
		again, err := tokenreq.Parse(v.Encode())
		if err != nil || again.Username != tr.Username || again.Password != tr.Password || strings.Join(again.Scope, " ") != strings.Join(tr.Scope, " ") {
			t.Fatalf("round trip changed %+v into %+v (%v)", tr, again, err)
		}
	})
}
