// Package replicatest holds the integration tests of gatehouse running as
// several replicas over shared PostgreSQL and Redis, and of durability when a
// process is killed. It has no code of its own beyond test helpers.
package replicatest
