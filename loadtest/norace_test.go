//go:build !race

package loadtest_test

// raceEnabled: see race_test.go.
const raceEnabled = false
