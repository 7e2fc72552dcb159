// Package faulttest injects store faults under load and checks that
// gatehouse degrades as promised: Redis killed and restarted, PostgreSQL
// stopped, a table locked, the SQLite file made unwritable, clocks stepped,
// a small PostgreSQL max_connections against many clients. For each fault
// a bounded client loop drives every scheme and the tests assert: no 500,
// no store text in any body, 503 with Retry-After during the fault,
// recovery within 2 s after it, no token, PAT or session lost, no replay
// accepted, and no goroutine growth.
//
// The package holds tests only. They start their own PostgreSQL cluster and
// Redis server (see testservers.StartPostgres and testservers.StartRedis) and
// skip without them unless GATEHOUSE_REQUIRE_INTEGRATION=1, which CI sets.
package faulttest
