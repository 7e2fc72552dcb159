// Package archtest holds the tests that keep the house rules: who may
// import whom (ARCHITECTURE.md), and that what the Markdown tells a reader
// is still there: the `go test` commands name packages and targets that
// exist, every `pkg.Name` of this module is declared, and every test cited
// as evidence exists in the package it is cited in. It has no code of its
// own.
package archtest
