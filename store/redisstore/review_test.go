package redisstore_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An attack an outside review of session 9 found (it failed before the
// fix: the nonce was taken during the replica's blip and accepted again
// after the failover).

// Behind Sentinel a nonce must be acknowledged by a replica "so that a
// failover cannot forget it". When the replica's link has just dropped
// (connected_slaves:0, a network blip), UseNonce takes the nonce with no
// acknowledgement; a failover right then promotes that replica (its link
// has been down for a second or two, well within Sentinel's eligibility)
// and the same nonce is fresh again: a captured OAuth 1 request replays.
func TestReviewSentinelNonceWithoutAckSurvivesFailoverAsFresh(t *testing.T) {
	set, s := sentinelStore(t)
	ctx := context.Background()
	expires := time.Now().Add(10 * time.Minute)
	if fresh, err := s.UseNonce(ctx, "katello", "warm-up", expires); err != nil || !fresh {
		t.Fatalf("warm-up: %v %v", fresh, err)
	}
	cli := func(addr string, args ...string) string {
		host, port, _ := strings.Cut(addr, ":")
		out, _ := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	// The replica's link drops and cannot come back at once (here: the
	// master takes no new connection; in life, a partition).
	host, port, _ := strings.Cut(set.Master.Addr, ":")
	c := exec.Command("redis-cli", "-h", host, "-p", port)
	c.Stdin = strings.NewReader("config set maxclients 1\nclient kill type replica\ninfo replication\n")
	out, _ := c.CombinedOutput()
	t.Logf("on the master, one connection: %q", out)
	fresh, err := s.UseNonce(ctx, "katello", "captured", expires)
	t.Logf("nonce during the blip: fresh=%v err=%v", fresh, err)
	if err != nil || !fresh {
		t.Log("the store refused the unacknowledged nonce")
		return
	}
	t.Logf("replica before the kill: %q", cli(set.Replica.Addr, "info", "replication"))
	t.Logf("replica has the nonce key: %q", cli(set.Replica.Addr, "keys", "*captured*"))
	set.Master.Stop() // SIGKILL: Sentinel promotes the replica
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ { // until the store works on the promoted replica (other nonces)
		if ok, err := s.UseNonce(ctx, "katello", fmt.Sprint("probe-", i), expires); err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new master")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("promoted replica: %q", cli(set.Replica.Addr, "role"))
	fresh, err = s.UseNonce(ctx, "katello", "captured", expires)
	t.Logf("same nonce after the failover: fresh=%v err=%v", fresh, err)
	if fresh {
		t.Errorf("a nonce answered fresh before the failover is fresh again after it: replay")
	}
}
