package authtest_test

import (
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/token"
)

// Example sets up users with cheap hashes, a controllable clock and a token
// service, the way a service's own tests would.
func Example() {
	store := authtest.Users(
		authtest.User{Login: "wsuser", Password: "cluster-secret", Groups: []string{"admin"}},
		authtest.User{Login: "admin@internal", Password: "ovirt-pw"},
	)
	clock := authtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tokens := token.New(token.Config{Store: store, Users: store, Now: clock.Now})

	a := basic.New(basic.Config{Passwords: pwcheck.New(pwcheck.Config{Users: store})})
	id, err := a.Authenticate(authtest.BasicRequest(nil, "https://api.example/", "wsuser", "cluster-secret"))
	fmt.Println(id.User, id.Groups, err)

	issued, _ := tokens.IssueAccess(context.Background(), id, nil)
	clock.Add(25 * time.Hour) // past the one-day default
	_, err = tokens.Verify(context.Background(), issued.Secret, token.PrefixAccess, auth.SchemeToken)
	fmt.Println(auth.AsError(err).Reason)
	// Output:
	// wsuser [admin] <nil>
	// expired
}
