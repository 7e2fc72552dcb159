package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/testservers"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.StopAll()
	os.Exit(code)
}

func backend(s sqlstore.Store) storetest.Backend {
	return storetest.Backend{Users: s, Rules: s, Tokens: s, Sessions: s, Consumers: s, Clients: s, Nonces: s, Certs: s, Failures: s}
}

func openSQLite(t testing.TB) sqlstore.Store {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t testing.TB) sqlstore.Store {
	s, err := sqlstore.OpenPostgres(context.Background(), testservers.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceSQLite(t *testing.T) { storetest.Run(t, backend(openSQLite(t))) }

func TestConformancePostgres(t *testing.T) { storetest.Run(t, backend(openPostgres(t))) }

// Several replicas opening (and migrating) one database at once.
func TestConcurrentMigrations(t *testing.T) {
	sqlitePath := filepath.Join(t.TempDir(), "migrate.db")
	for name, open := range map[string]func(context.Context) (sqlstore.Store, error){
		"sqlite": func(ctx context.Context) (sqlstore.Store, error) {
			return sqlstore.OpenSQLite(ctx, sqlitePath)
		},
		"postgres": func() func(context.Context) (sqlstore.Store, error) {
			dsn := testservers.PostgresDSN(t)
			return func(ctx context.Context) (sqlstore.Store, error) { return sqlstore.OpenPostgres(ctx, dsn) }
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 6)
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := open(context.Background())
					if err == nil {
						s.Close()
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		})
	}
}

// Attack (failed before the fix: 0644, world-readable): the database, its
// -wal and its -shm hold password hashes and OAuth 1 consumer secrets in
// clear; OpenSQLite makes them 0600 whatever the umask allows.
func TestSQLiteFilesNotReadableByOthers(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.db")
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutUser(context.Background(), stores.User{Name: "u", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s: mode %o, want 0600", filepath.Base(f), mode)
		}
	}
}

// Fault (failed before the fix: connections opened during the swap stayed
// in the pool, and every request got 503 for as long as was watched): the
// data directory is moved away and an empty one put in its place, then the
// original is moved back. Meanwhile no write succeeds and no empty database
// is made; once it is back, reads and writes work again within a second.
func TestSQLiteDirectorySwap(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	data := filepath.Join(root, "data")
	require.NoError(t, os.Mkdir(data, 0o700))
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(data, "gatehouse.db"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "alice", PasswordHash: "x"}))

	require.NoError(t, os.Rename(data, data+".away"))
	require.NoError(t, os.Mkdir(data, 0o700))
	for i := range 20 {
		if err := s.PutUser(ctx, stores.User{Name: fmt.Sprint("during-", i), PasswordHash: "x"}); err == nil {
			t.Fatalf("a write succeeded while the directory was swapped")
		}
		_, _ = s.User(ctx, "alice")
		time.Sleep(10 * time.Millisecond)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("the store made files in the empty directory: %v", entries)
	}

	require.NoError(t, os.Remove(data))
	require.NoError(t, os.Rename(data+".away", data))
	back := time.Now()
	for {
		_, rerr := s.User(ctx, "alice")
		werr := s.PutUser(ctx, stores.User{Name: "bob", PasswordHash: "x"})
		if rerr == nil && werr == nil {
			break
		}
		if time.Since(back) > time.Second {
			t.Fatalf("not recovered a second after the directory came back: read %v, write %v", rerr, werr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("recovered %v after the directory came back", time.Since(back).Round(time.Millisecond))
}

// Fault (failed before the fix: the write succeeded, into a file no path
// names any more, and was gone at the next start): with the database file
// deleted under a running store, writes fail; nothing is created at the
// path.
func TestSQLiteDeletedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.PutUser(ctx, stores.User{Name: "alice", PasswordHash: "x"}))
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		_ = os.Remove(f)
	}
	for i := range 5 {
		err := s.PutUser(ctx, stores.User{Name: fmt.Sprint("lost-", i), PasswordHash: "x"})
		require.Error(t, err, "a write into a deleted database file must not succeed")
		require.ErrorIs(t, err, sqlstore.ErrFileChanged)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a new database file was made at the path")
	}
}
