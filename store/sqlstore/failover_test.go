package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// TestPostgresFailover: a multi-host DSN with
// target_session_attrs=read-write, a primary with a streaming replica. The
// primary is stopped while tokens are being written, and the replica
// promoted: meanwhile every call fails within its deadline (the schemes
// answer 503 with Retry-After; none hangs), then the pool finds the new
// primary without a restart. With synchronous replication every token whose
// write returned is there; with asynchronous replication the test measures
// how many are lost.
func TestPostgresFailover(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(map[bool]string{true: "synchronous", false: "asynchronous"}[sync], func(t *testing.T) { testFailover(t, sync) })
	}
}

func testFailover(t *testing.T, synchronous bool) {
	pair := testservers.StartPostgresPair(t, synchronous)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{PostgresDSN: pair.DSN, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutUser(ctx, stores.User{Name: "admin"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	var written []string
	for i := range 50 {
		id := fmt.Sprint("tok-", i)
		if err := s.CreateToken(ctx, stores.Token{ID: id, Hash: "hash-" + id, Kind: stores.TokenAccess, User: "admin", UserID: u.ID,
			Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		written = append(written, id)
	}

	// Tokens keep being written while the primary stops: those whose
	// write returned are checked afterwards.
	writing := make(chan struct{})
	var mu sync.Mutex
	go func() {
		defer close(writing)
		for i := 0; i < 2000; i++ {
			id := fmt.Sprint("race-", i)
			err := s.CreateToken(ctx, stores.Token{ID: id, Hash: "hash-" + id, Kind: stores.TokenAccess, User: "admin", UserID: u.ID,
				Created: time.Now(), Expires: time.Now().Add(time.Hour)})
			if err != nil {
				return // the primary is gone
			}
			mu.Lock()
			written = append(written, id)
			mu.Unlock()
		}
	}()
	time.Sleep(20 * time.Millisecond)
	if err := pair.Primary.Stop(); err != nil {
		t.Fatal(err)
	}
	<-writing
	stopped := time.Now()
	promoted := make(chan error, 1)
	go func() {
		time.Sleep(time.Second) // an operator, or a failover manager, takes a moment
		promoted <- pair.Replica.Promote()
	}()
	var failed int
	var back time.Duration
	for i := 0; ; i++ {
		if time.Since(stopped) > 60*time.Second {
			t.Fatalf("no writes 60 s after the primary stopped (%d failed calls)", failed)
		}
		start := time.Now()
		err := s.PutUser(ctx, stores.User{Name: fmt.Sprint("during-", i)})
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("a call during the failover took %s (deadline 1 s)", took)
		}
		if err == nil {
			back = time.Since(stopped)
			break
		}
		if errors.Is(err, stores.ErrConflict) || errors.Is(err, stores.ErrInvalid) {
			t.Fatalf("a store failure reported as %v", err)
		}
		failed++
		time.Sleep(100 * time.Millisecond)
	}
	if err := <-promoted; err != nil {
		t.Fatal(err)
	}
	t.Logf("writes failed for %s (%d calls, promotion after 1 s) until the pool found the new primary", back.Round(100*time.Millisecond), failed)
	if back > 10*time.Second {
		t.Errorf("the failover cost %s of failures, more than 10 s", back)
	}
	lost := 0
	for _, id := range written {
		if _, err := s.TokenByID(ctx, id); err != nil {
			lost++
		}
	}
	t.Logf("%d of %d tokens whose write returned before the failover were lost", lost, len(written))
	if synchronous && lost > 0 {
		t.Errorf("synchronous replication lost %d tokens that were written", lost)
	}
}
