package stores_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
)

// directory is a service's own account table, here a map: gatehouse reads
// it through stores.UserStore and never needs to own it.
type directory map[string]stores.User

// User implements stores.UserStore: a copy of the account, or
// stores.ErrNotFound (which every scheme answers as a wrong password).
func (d directory) User(_ context.Context, login string) (*stores.User, error) {
	u, ok := d[login]
	if !ok {
		return nil, stores.ErrNotFound
	}
	return &u, nil
}

// Example_userStore plugs a service's existing accounts into gatehouse: a
// type with one method is the user store of the password pipeline, so HTTP
// Basic (and every other scheme that takes passwords) checks against it.
func Example_userStore() {
	hash, err := password.Hash("s3cret") // or the hashes the table already holds: bcrypt, sha512-crypt, …
	if err != nil {
		panic(err)
	}
	accounts := directory{
		"alice": {ID: "1", Name: "alice", PasswordHash: hash, Groups: []string{"ops"}},
		"bob":   {ID: "2", Name: "bob", PasswordHash: hash, Disabled: true},
	}
	passwords := pwcheck.New(pwcheck.Config{Users: accounts})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s %v", id.User, id.Groups)
	})
	srv := httptest.NewTLSServer(auth.Middleware(basic.New(basic.Config{Passwords: passwords}), auth.Config{})(api))
	defer srv.Close()

	for _, login := range [][2]string{{"alice", "s3cret"}, {"alice", "guess"}, {"bob", "s3cret"}, {"carol", "s3cret"}} {
		req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
		req.SetBasicAuth(login[0], login[1])
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(login[0], resp.StatusCode)
			continue
		}
		fmt.Println(login[0], resp.StatusCode, string(body))
	}
	// Output:
	// alice 200 alice [ops]
	// alice 401
	// bob 401
	// carol 401
}
