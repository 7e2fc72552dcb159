// Package smoke holds the smoke test of the example programs in examples/:
// each is built, started on a free port, and answers one authenticated
// request.
package smoke
