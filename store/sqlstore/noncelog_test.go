package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// TestNonceLogAcrossProcesses: two stores on one SQLite file (two servers,
// or a server and the CLI, with pools of their own) spend nonces from one
// set. A nonce one used is a replay on the other, in both directions, and
// when both are handed the same 2 000 nonces at once, 64 at a time, each
// nonce is accepted exactly once.
func TestNonceLogAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	a, b := watchedPair(t) // so that quiet commits (TestNonceLogQuietCommits) race too
	far := time.Now().Add(time.Hour)

	for i := range 20 {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		nonce := fmt.Sprint("n", i)
		fresh, err := first.UseNonce(ctx, "katello", nonce, far)
		require.NoError(t, err)
		require.True(t, fresh, nonce)
		for _, s := range []sqlstore.Store{second, first} {
			fresh, err = s.UseNonce(ctx, "katello", nonce, far)
			require.NoError(t, err)
			require.False(t, fresh, "%s replayed", nonce)
		}
		// Another consumer's nonce of the same text is its own.
		fresh, err = second.UseNonce(ctx, "foreman", nonce, far)
		require.NoError(t, err)
		require.True(t, fresh)
	}

	const n = 2000
	var accepted [n]atomic.Int32
	var wg sync.WaitGroup
	work := make(chan int)
	for w := range 64 {
		s := []sqlstore.Store{a, b}[w%2]
		wg.Go(func() {
			for i := range work {
				fresh, err := s.UseNonce(ctx, "katello", fmt.Sprint("race-", i), far)
				if !assert.NoError(t, err) {
					return
				}
				if fresh {
					accepted[i].Add(1)
				}
			}
		})
	}
	for i := range n {
		work <- i
		work <- i // the same nonce again, most likely on the other store
	}
	close(work)
	wg.Wait()
	for i := range n {
		require.EqualValues(t, 1, accepted[i].Load(), "nonce race-%d accepted %d times", i, accepted[i].Load())
	}
}

// TestNonceLogQuietCommits: a store whose previous nonce commit was the
// last one on the file skips reading the log, and reads it again as soon
// as another store committed, so that it refuses the other's nonce.
func TestNonceLogQuietCommits(t *testing.T) {
	ctx := context.Background()
	a, b := watchedPair(t)
	far := time.Now().Add(time.Hour)
	use := func(s sqlstore.Store, nonce string, want bool) {
		t.Helper()
		fresh, err := s.UseNonce(ctx, "katello", nonce, far)
		require.NoError(t, err)
		require.Equal(t, want, fresh, nonce)
	}
	use(a, "a1", true)
	before := sqlstore.QuietNonceCommits(a)
	use(a, "a2", true)
	require.Equal(t, before+1, sqlstore.QuietNonceCommits(a), "nobody else committed, yet the log was read")
	use(b, "b1", true)
	use(a, "b1", false) // read despite a's quiet last commit
	require.Equal(t, before+1, sqlstore.QuietNonceCommits(a), "b committed, yet a did not read the log")
	use(a, "a3", true)
	use(b, "a3", false)
}

// watchedPair is serverAndCLI with both stores watching the shared WAL
// index (a cached read opens the watch); it skips t where they cannot.
func watchedPair(t *testing.T) (a, b sqlstore.Store) {
	t.Helper()
	a, b = serverAndCLI(t)
	for _, s := range []sqlstore.Store{a, b} {
		_, _ = s.User(context.Background(), "nobody")
		if !sqlstore.WALWatched(s) {
			t.Skip("SQLite's shared WAL index cannot be watched here")
		}
	}
	return a, b
}

// TestNonceLogSurvivesReopen: a store opened on a file remembers the
// nonces spent there before (in the log, and in the per-nonce table that
// earlier versions wrote), and forgets them once they expire.
func TestNonceLogSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	require.NoError(t, err)
	soon := time.Now().Add(300 * time.Millisecond)
	far := time.Now().Add(time.Hour)
	for _, n := range []string{"kept", "expiring"} {
		exp := far
		if n == "expiring" {
			exp = soon
		}
		fresh, err := s.UseNonce(ctx, "katello", n, exp)
		require.NoError(t, err)
		require.True(t, fresh)
	}
	// A nonce an earlier version wrote, one row per nonce.
	_, err = s.DB().ExecContext(ctx, "INSERT INTO nonces (consumer_key, nonce, expires) VALUES (?, ?, ?)", "katello", "legacy", far.UnixNano())
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = sqlstore.OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for _, n := range []string{"kept", "expiring", "legacy"} {
		fresh, err := s.UseNonce(ctx, "katello", n, far)
		require.NoError(t, err)
		assert.False(t, fresh, "%s replayed after a reopen", n)
	}
	time.Sleep(time.Until(soon) + 10*time.Millisecond)
	fresh, err := s.UseNonce(ctx, "katello", "expiring", far)
	require.NoError(t, err)
	assert.True(t, fresh, "an expired nonce may be used again")
	fresh, err = s.UseNonce(ctx, "katello", "kept", far)
	require.NoError(t, err)
	assert.False(t, fresh)
}

// TestNonceCommitsNeverHideAnotherWriter: the nonce batcher tells the read
// cache that its own commit changed no cached table, so that the requests
// after it need not ask SQLite. Another process's commit that lands right
// after the batcher's, before it looks at the WAL index, must not be
// covered by that word: here the other store changes alice exactly there,
// 20 times, and every change is seen by the very next read.
func TestNonceCommitsNeverHideAnotherWriter(t *testing.T) {
	ctx := context.Background()
	server, cliStore := watchedAlice(t)
	far := time.Now().Add(time.Hour)
	var want atomic.Value
	t.Cleanup(func() { sqlstore.SetAfterNonceCommit(nil) })
	sqlstore.SetAfterNonceCommit(func() {
		if w, _ := want.Swap("").(string); w != "" {
			assert.NoError(t, cliStore.PutUser(ctx, stores.User{Name: "alice", PasswordHash: w})) // on the batcher's goroutine
		}
	})
	for i := range 20 {
		for range 2 { // warm: the second read is a hit
			_, err := server.User(ctx, "alice")
			require.NoError(t, err)
		}
		w := fmt.Sprintf("h%d", i+1)
		want.Store(w)
		fresh, err := server.UseNonce(ctx, "katello", fmt.Sprint("between-", i), far)
		require.NoError(t, err)
		require.True(t, fresh)
		require.Equal(t, "", want.Load(), "the other store committed after the nonce")
		u, err := server.User(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, w, u.PasswordHash, "round %d: a stale alice after another store committed between a nonce commit and the cache's word", i)
	}
}

// TestNonceCommitsUnderLoadNeverHideAnotherWriter: the same while nonces
// are committed without pause from 8 goroutines: another store changes
// alice 200 times, and every change is seen by the very next read.
func TestNonceCommitsUnderLoadNeverHideAnotherWriter(t *testing.T) {
	ctx := context.Background()
	server, cliStore := watchedAlice(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var spent atomic.Int64
	far := time.Now().Add(time.Hour)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				fresh, err := server.UseNonce(ctx, "katello", fmt.Sprint(w, "-", i), far)
				if !assert.NoError(t, err) || !assert.True(t, fresh) {
					return
				}
				spent.Add(1)
			}
		})
	}
	for i := range 200 {
		_, err := server.User(ctx, "alice") // warm
		require.NoError(t, err)
		want := fmt.Sprintf("h%d", i+1)
		require.NoError(t, cliStore.PutUser(ctx, stores.User{Name: "alice", PasswordHash: want}))
		u, err := server.User(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, want, u.PasswordHash, "round %d: a stale alice right after the other store's commit", i)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d nonces committed meanwhile", spent.Load())
	require.Greater(t, spent.Load(), int64(200))
}

// TestNonceUnderAnotherWritersLock: while another process holds SQLite's
// write lock, a signed request's nonce is answered by its own deadline,
// or, without one, by about the store's timeout ("database is locked"),
// and never accepted; a nonce whose commit failed is not spent, and the
// store commits again once the lock is gone.
func TestNonceUnderAnotherWritersLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "locked.db")
	const timeout = 400 * time.Millisecond // busy_timeout: 300 ms
	s, err := sqlstore.Open(ctx, sqlstore.Config{SQLitePath: path, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	far := time.Now().Add(time.Hour)
	fresh, err := s.UseNonce(ctx, "ck", "warm", far) // the batcher and its connection exist
	require.NoError(t, err)
	require.True(t, fresh)

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	require.NoError(t, err)
	t.Cleanup(func() { other.Close() })
	lock := func() *sql.Conn {
		c, err := other.Conn(ctx)
		require.NoError(t, err)
		_, err = c.ExecContext(ctx, "BEGIN IMMEDIATE")
		require.NoError(t, err)
		return c
	}
	unlock := func(c *sql.Conn) {
		_, err := c.ExecContext(ctx, "ROLLBACK")
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}

	// Held past the timeout: the call without a deadline gets an error
	// within about the timeout, and nothing is recorded.
	held := lock()
	start := time.Now()
	fresh, err = s.UseNonce(ctx, "ck", "n1", far)
	took := time.Since(start)
	assert.Error(t, err)
	assert.False(t, fresh)
	assert.Less(t, took, 5*timeout, "the call waited %v", took)
	unlock(held)
	fresh, err = s.UseNonce(ctx, "ck", "n1", far)
	require.NoError(t, err)
	assert.True(t, fresh, "a nonce whose commit failed is not spent")

	// A short deadline: answered by it, not by the lock's end.
	held = lock()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	fresh, err = s.UseNonce(short, "ck", "n2", far)
	took = time.Since(start)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, fresh)
	assert.Less(t, took, timeout, "the call waited %v", took)
	unlock(held)
	fresh, err = s.UseNonce(ctx, "ck", "n3", far)
	require.NoError(t, err)
	assert.True(t, fresh)
}
