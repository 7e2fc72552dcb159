package token_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/token"
)

// ExampleService_CreatePAT makes a personal access token with an expiry,
// lists it (never with its secret) and revokes it: the next check fails.
func ExampleService_CreatePAT() {
	ctx := context.Background()
	store := authtest.Users(authtest.User{Login: "admin", Password: "satellite-pw"})
	tokens := token.New(token.Config{Store: store, Users: store})

	pat, _ := tokens.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "ci", Expires: time.Now().Add(30 * 24 * time.Hour)})
	id, err := tokens.Verify(ctx, pat.Secret, token.PrefixPAT, auth.SchemePAT)
	fmt.Println(id.Login(), err)

	list, _ := tokens.List(ctx, "admin", "pat")
	fmt.Println(len(list), list[0].Name, list[0].Hash == "")

	_ = tokens.Revoke(ctx, "admin", pat.Token.ID)
	_, err = tokens.Verify(ctx, pat.Secret, token.PrefixPAT, auth.SchemePAT)
	fmt.Println(auth.AsError(err).Reason)
	// Output:
	// admin <nil>
	// 1 ci true
	// revoked
}
