package main

import (
	"strings"
	"testing"
)

const cpuRuns = `BenchmarkParallel/bare           	210180343	         6.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkParallel/bare-2         	396240195	         3.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkParallel/context-floor  	 7561568	       150 ns/op	     368 B/op	       2 allocs/op
BenchmarkParallel/context-floor-2	 7980716	       125 ns/op	     368 B/op	       2 allocs/op
BenchmarkParallel/token          	 1467342	       800 ns/op	     560 B/op	       4 allocs/op
BenchmarkParallel/token-2        	 1711302	       500 ns/op	     560 B/op	       4 allocs/op
BenchmarkParallel/token-2        	 1711302	       900 ns/op	     560 B/op	       4 allocs/op
BenchmarkParallel/token-2        	 1711302	       400 ns/op	     560 B/op	       4 allocs/op
`

// TestParse: the GOMAXPROCS suffix is dropped, or kept as @N; repeated
// runs give their median.
func TestParse(t *testing.T) {
	plain := parse(strings.NewReader(cpuRuns), false)
	if got := plain["BenchmarkParallel/token"]; got.ns != 800 || got.allocs != 4 {
		t.Errorf("without the core count the runs merge: %+v, want the median of 800, 500, 900, 400 = 800", got)
	}
	byCPU := parse(strings.NewReader(cpuRuns), true)
	if one, two := byCPU["BenchmarkParallel/token@1"], byCPU["BenchmarkParallel/token@2"]; one.ns != 800 || two.ns != 500 {
		t.Errorf("by core count: @1 %v, @2 %v; want 800 and the median 500", one.ns, two.ns)
	}
}

// TestScalingTable: scaling is time on one core over time on N, and each
// path's share is against the bare handler's and the context floor's.
func TestScalingTable(t *testing.T) {
	table := scalingTable(parse(strings.NewReader(cpuRuns), true))
	for _, want := range []string{
		"| bare | 6 ns | 3 ns | 2.00× | 100 % | 167 % |",
		"| context-floor | 150 ns | 125 ns | 1.20× | 60 % | 100 % |",
		"| token | 800 ns | 500 ns | 1.60× | 80 % (**missed**) | 133 % |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("no row %q in\n%s", want, table)
		}
	}
}

const familyRuns = `BenchmarkBare-2                	100000000	        10.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkOAuth1/gatehouse-2    	  100000	      3000 ns/op	     100 B/op	       5 allocs/op
BenchmarkOAuth1/mrjones-oauth-2	  100000	     15000 ns/op	     100 B/op	     111 allocs/op
BenchmarkOAuth1/harness-2      	  100000	       200 ns/op	       8 B/op	       0 allocs/op
BenchmarkFloor-2               	  100000	       170 ns/op	       8 B/op	       2 allocs/op
`

// TestHarnessFloor: a family's rows are measured against its harness, which
// is not a row itself; a family without one is measured against the bare
// handler.
func TestHarnessFloor(t *testing.T) {
	s := parse(strings.NewReader(familyRuns), false)
	table, rows := render(s, s["BenchmarkBare"].ns, nil)
	for _, want := range []string{
		"| OAuth1 | gatehouse | 3.00 µs | 200 ns | 2.80 µs | 5 |  | ≤ 3.04 µs: met |", // the target scaled by the floor: 170 ns ÷ 168 ns
		"| OAuth1 | mrjones-oauth | 15.00 µs | 200 ns | 14.80 µs | 111 | 0.20× |",
		"| Floor | — | 170 ns | 10 ns | 160 ns | 2 |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("no row %q in\n%s", want, table)
		}
	}
	if strings.Contains(table, "| OAuth1 | harness |") || len(rows) != 3 {
		t.Errorf("the harness is a row: %d rows\n%s", len(rows), table)
	}
}
