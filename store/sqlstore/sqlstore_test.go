package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopAll()
	os.Exit(code)
}

func backend(s *sqlstore.Store) storetest.Backend {
	return storetest.Backend{Users: s, Rules: s, Tokens: s, Sessions: s, Consumers: s, Clients: s, Nonces: s, Certs: s, Failures: s}
}

func openSQLite(t testing.TB) *sqlstore.Store {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t testing.TB) *sqlstore.Store {
	s, err := sqlstore.OpenPostgres(context.Background(), storetest.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceSQLite(t *testing.T) { storetest.Run(t, backend(openSQLite(t))) }

func TestConformancePostgres(t *testing.T) { storetest.Run(t, backend(openPostgres(t))) }

// Several replicas opening (and migrating) one database at once.
func TestConcurrentMigrations(t *testing.T) {
	sqlitePath := filepath.Join(t.TempDir(), "migrate.db")
	for name, open := range map[string]func(context.Context) (*sqlstore.Store, error){
		"sqlite": func(ctx context.Context) (*sqlstore.Store, error) {
			return sqlstore.OpenSQLite(ctx, sqlitePath)
		},
		"postgres": func() func(context.Context) (*sqlstore.Store, error) {
			dsn := storetest.PostgresDSN(t)
			return func(ctx context.Context) (*sqlstore.Store, error) { return sqlstore.OpenPostgres(ctx, dsn) }
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
