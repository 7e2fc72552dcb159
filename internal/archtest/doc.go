// Package archtest holds the test that keeps the house rules of
// ARCHITECTURE.md: who may import whom. It has no code of its own.
package archtest
