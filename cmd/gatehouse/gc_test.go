package main

import (
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestServeCollectorDefault: serve runs the collector at GOGC=400 unless
// the environment sets GOGC (docs/operations.md, "Memory"). The runtime's
// own trace (GODEBUG=gctrace=1, a line per collection on standard error)
// counts the collections while 20 000 requests are served: with the
// default there are several times fewer than with GOGC=100 set.
func TestServeCollectorDefault(t *testing.T) {
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GODEBUG=") {
			base = append(base, kv)
		}
	}
	collections := func(env ...string) int {
		data := t.TempDir()
		s := startServerEnv(t, append(append(env, base...), "GODEBUG=gctrace=1"), data, "--demo")
		before := strings.Count(s.stderr.String(), "MB goal")
		hc := caClient(t, data)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20_000 / 8 {
					res, err := hc.Get(s.base + "/healthz")
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
		}
		wg.Wait()
		n := strings.Count(s.stderr.String(), "MB goal") - before
		s.stop(t)
		return n
	}
	def, hundred := collections(), collections("GOGC=100")
	t.Logf("collections while serving 20 000 requests: %d by default, %d with GOGC=100", def, hundred)
	if hundred < 4 || def*3 > hundred {
		t.Errorf("by default %d collections, with GOGC=100 %d: want the default at most a third", def, hundred)
	}
}
