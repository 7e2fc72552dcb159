package pwcheck_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
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

// Example_throttle: after MaxPerUser wrong passwords from one address the
// login is refused as throttled (429 with Retry-After in Middleware) —
// even with the right password, until the window ends.
func Example_throttle() {
	store := authtest.Users(authtest.User{Login: "alice", Password: "s3cret"})
	passwords := pwcheck.New(pwcheck.Config{Users: store, Counter: store, MaxPerUser: 3, Slots: authtest.Slots})
	r := httptest.NewRequest("GET", "https://api.example/", nil)
	for range 3 {
		_, err := passwords.Check(r, "basic", "alice", "guess")
		fmt.Println(err)
	}
	_, err := passwords.Check(r, "basic", "alice", "s3cret")
	fmt.Println(auth.AsError(err).Reason, auth.AsError(err).Status())
	// Output:
	// auth: invalid (basic): invalid user name or password
	// auth: invalid (basic): invalid user name or password
	// auth: invalid (basic): invalid user name or password
	// throttled 429
}
