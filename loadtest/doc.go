// Package loadtest puts gatehouse's password path under load on loopback and
// checks the bounds it promises: concurrent password hashes are limited
// (memory stays within slots × the hash's memory), cached credentials keep
// their throughput while an attacker makes the server hash, the expiry of a
// hot cache entry costs one hash and no latency spike, a client that left
// causes no further hashing, and a request without credentials costs no
// store call and no hash.
//
// The package holds tests only; they are bounded to a few seconds each. The
// server under attack runs as a separate process (this test binary,
// re-executed), so that its peak resident memory can be read from
// /proc/PID/status.
package loadtest
