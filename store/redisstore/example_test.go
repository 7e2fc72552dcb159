package redisstore_test

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"log"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// Example shares sessions, OAuth nonces and throttling counters between
// replicas through Redis, with the durable records in PostgreSQL. (It needs
// both servers, so it is compiled but not run here.)
func Example() {
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, "postgres://gatehouse@db.internal/gatehouse")
	if err != nil {
		log.Fatal(err)
	}
	rs, err := redisstore.Open(ctx, "redis://cache.internal:6379/0", "myapi:")
	if err != nil {
		log.Fatal(err)
	}
	throttle := &pwcheck.Throttle{Counter: rs}
	chain := basic.New(basic.Config{Passwords: &pwcheck.Pipeline{Verifier: pwcheck.New(pwcheck.Config{Users: db}).Verifier, Throttle: throttle}})
	sessions := session.New(session.Config{Store: rs, Users: db}, chain)
	_ = auth.Middleware(sessions, auth.Config{})
}
