package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/store/redisstore"
)

// sentinelStore starts a master, a replica and three Sentinels and opens
// a store on them with calls bounded at 500 ms.
func sentinelStore(t *testing.T) (*testservers.RedisSentinels, redisstore.Store) {
	t.Helper()
	set := testservers.StartRedisSentinels(t)
	s, err := redisstore.Open(context.Background(), set.URL(), "gatehouse:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetTimeout(500 * time.Millisecond)
	return set, s
}

// TestSentinelFailover: behind Sentinel (a master, a replica, three
// Sentinels), the store follows the promoted replica after the master is
// killed: a nonce used just before the failover is refused after it (the
// store waits for a replica's acknowledgement of every nonce), a session
// made before it is still there, and meanwhile calls fail (503) rather
// than hang or answer wrongly.
func TestSentinelFailover(t *testing.T) {
	set, s := sentinelStore(t)
	ctx := context.Background()
	expires := time.Now().Add(10 * time.Minute)
	fresh, err := s.UseNonce(ctx, "katello", "before-failover", expires)
	if err != nil || !fresh {
		t.Fatalf("a nonce before the failover: %v %v", fresh, err)
	}
	// What waiting for the replica costs a request: the same nonces
	// written with and without it (wait_replicas=0), in one sitting.
	nowait, err := redisstore.Open(ctx, set.URL()+"&wait_replicas=0", "gatehouse:")
	if err != nil {
		t.Fatal(err)
	}
	defer nowait.Close()
	timeIt := func(st redisstore.Store, tag string) time.Duration {
		start := time.Now()
		for i := range 200 {
			if fresh, err := st.UseNonce(ctx, "katello", fmt.Sprint(tag, i), expires); err != nil || !fresh {
				t.Fatalf("%s %d: %v %v", tag, i, fresh, err)
			}
		}
		return time.Since(start) / 200
	}
	without, with := timeIt(nowait, "nowait-"), timeIt(s, "wait-")
	t.Logf("a nonce takes %s with WAIT for one replica, %s without (loopback)", with.Round(time.Microsecond), without.Round(time.Microsecond))

	// A replica that has gone quiet: the master accepts the write, but no
	// replica acknowledges it, so the nonce does not count (503).
	set.Replica.Pause()
	fresh, err = s.UseNonce(ctx, "katello", "while-the-replica-sleeps", expires)
	set.Replica.Resume()
	if err == nil || fresh {
		t.Errorf("a nonce no replica acknowledged was taken: fresh=%v err=%v", fresh, err)
	}
	now := time.Now()
	if err := s.CreateSession(ctx, stores.Session{Hash: "h1", User: "admin", Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	set.Master.Stop() // SIGKILL
	killed := time.Now()
	var failures int
	var back time.Duration
	for i := 0; ; i++ {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("no new master 30 s after the kill (%d failed calls)", failures)
		}
		fresh, err := s.UseNonce(ctx, "katello", fmt.Sprint("during-", i), expires)
		if err == nil && fresh {
			back = time.Since(killed)
			break
		}
		if err == nil && !fresh {
			t.Fatalf("a new nonce refused as a replay during the failover")
		}
		failures++
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("nonces failed for %s (%d calls) until the replica was promoted", back.Round(100*time.Millisecond), failures)
	if back > 10*time.Second {
		t.Errorf("the failover took %s, more than 10 s", back)
	}
	fresh, err = s.UseNonce(ctx, "katello", "before-failover", expires)
	if err != nil || fresh {
		t.Errorf("the nonce used before the failover, after it: fresh=%v err=%v (want a replay refused)", fresh, err)
	}
	if got, err := s.SessionByHash(ctx, "h1"); err != nil || got.User != "admin" {
		t.Errorf("the session made before the failover: %v %v", got, err)
	}
}
