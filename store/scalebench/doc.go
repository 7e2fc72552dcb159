// Package scalebench holds the stores' benchmarks at scale: one request's
// lookup in each table (users, tokens, sessions, OAuth 1 nonces) at 10³,
// 10⁵ and 10⁶ rows, for memstore, SQLite, PostgreSQL and Redis. The cost
// per operation must stay flat as the tables grow; sqlstore's query-plan
// test (plan_test.go) is the check that runs in CI, these are the figures.
//
//	go test -run '^$' -bench Scale -benchtime 20000x ./store/scalebench
package scalebench
