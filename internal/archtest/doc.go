// Package archtest holds the tests that keep the house rules: who may
// import whom (ARCHITECTURE.md), and that every `go test` command the
// Markdown tells a reader to run still names packages and targets that
// exist. It has no code of its own.
package archtest
