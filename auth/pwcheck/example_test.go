package pwcheck_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/authtest"
)

// Example builds the pipeline once and checks passwords through it, as
// basic, token issuing and the OAuth 2 endpoint do.
func Example() {
	store := authtest.Users(authtest.User{Login: "alice", Password: "s3cret"})
	passwords := pwcheck.New(pwcheck.Config{Users: store, Counter: store})

	r := httptest.NewRequest("GET", "https://api.example/", nil)
	id, err := passwords.Check(r, "basic", "alice", "s3cret")
	fmt.Println(id.User, id.Scheme, err)
	_, err = passwords.Check(r.WithContext(context.Background()), "basic", "alice", "wrong")
	fmt.Println(err)
	// Output:
	// alice basic <nil>
	// auth: invalid (basic): invalid user name or password
}
