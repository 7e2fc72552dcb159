//go:build race

package loadtest_test

// raceEnabled: the race detector slows hashing tenfold and more, so
// latency bounds are not asserted under it (counts and memory still are).
const raceEnabled = true
