// Package testservers starts the PostgreSQL and Redis servers the
// module's tests run against (Debian's packages, on loopback, PostgreSQL as
// an unprivileged user), and controllable ones for fault injection. A test
// skips when a server cannot start, unless GATEHOUSE_REQUIRE_INTEGRATION
// is set (CI sets it), when it fails.
package testservers

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// RequireEnv, when "1", turns a missing PostgreSQL or Redis into a test
// failure instead of a skip (CI sets it).
const RequireEnv = "GATEHOUSE_REQUIRE_INTEGRATION"

func unavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s is required (%s=1) but not available: %v", what, RequireEnv, err)
	}
	tb.Skipf("%s not available, skipping: %v (set %s=1 to make this a failure)", what, err, RequireEnv)
}

var (
	mu       sync.Mutex
	pgBase   string // DSN of the shared cluster's postgres database
	pgErr    error
	pgOnce   sync.Once
	redisAdr string
	redisErr error
	rdOnce   sync.Once
	stops    []func()
	dbSeq    atomic.Int64
)

// StopAll stops the servers this process started. Call it from TestMain
// after m.Run.
func StopAll() {
	mu.Lock()
	defer mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	stops = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// PostgresDSN returns the DSN of a fresh, empty database. It uses
// $GATEHOUSE_POSTGRES_DSN when set; otherwise it starts, once per process, a
// throwaway cluster (initdb + pg_ctl into a temporary directory, as an
// unprivileged user when running as root, on a free 127.0.0.1 port).
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	pgOnce.Do(func() {
		if dsn := os.Getenv("GATEHOUSE_POSTGRES_DSN"); dsn != "" {
			pgBase = dsn
			return
		}
		pgBase, pgErr = startPostgres()
	})
	if pgErr != nil {
		unavailable(tb, "PostgreSQL", pgErr)
	}
	db, err := sql.Open("pgx", pgBase)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("gatehouse_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("creating database: %v", err)
	}
	return replaceDB(pgBase, name)
}

func replaceDB(dsn, name string) string {
	base, query, _ := strings.Cut(dsn, "?")
	i := strings.LastIndexByte(base, '/')
	if i < len("postgres://") {
		base += "/"
		i = len(base) - 1
	}
	out := base[:i+1] + name
	if query != "" {
		out += "?" + query
	}
	return out
}

func findPGBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return "", fmt.Errorf("%s not found", name)
	}
	return matches[len(matches)-1], nil
}

// asUser runs cmd as an unprivileged user when we are root (PostgreSQL
// refuses to run as root).
func asUser(cmd *exec.Cmd) (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid(), nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return uid, gid, nil
	}
	return 0, 0, fmt.Errorf("running as root and no unprivileged user to run PostgreSQL")
}

func startPostgres() (string, error) {
	p, err := newPostgres(200)
	if err != nil {
		return "", err
	}
	mu.Lock()
	stops = append(stops, func() {
		_ = p.run(p.ctl, "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
		os.RemoveAll(p.dir)
	})
	mu.Unlock()
	return p.DSN, nil
}

// newPostgres initialises a cluster in a new temporary directory and
// starts it on a free 127.0.0.1 port.
func newPostgres(maxConnections int) (*PostgresServer, error) {
	initdb, err := findPGBin("initdb")
	if err != nil {
		return nil, err
	}
	pgctl, err := findPGBin("pg_ctl")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		return nil, err
	}
	probe := exec.Command(initdb)
	uid, gid, err := asUser(probe)
	if err != nil {
		return nil, err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	run := func(bin string, args ...string) error {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if _, _, err := asUser(cmd); err != nil {
			return err
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", filepath.Base(bin), err, out)
		}
		return nil
	}
	if err := run(initdb, "-D", data, "-U", "gatehouse", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &PostgresServer{dir: dir, run: run, ctl: pgctl,
		opts: fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=on -c max_connections=%d", port, dir, maxConnections),
		DSN:  fmt.Sprintf("postgres://gatehouse@127.0.0.1:%d/postgres?sslmode=disable", port)}
	if err := p.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// RedisAddr returns the address of a Redis server: $GATEHOUSE_REDIS_ADDR when
// set, else a redis-server started once per process on a free 127.0.0.1
// port without persistence. Give each test its own key prefix.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	rdOnce.Do(func() {
		if a := os.Getenv("GATEHOUSE_REDIS_ADDR"); a != "" {
			redisAdr = a
			return
		}
		redisAdr, redisErr = startRedis()
	})
	if redisErr != nil {
		unavailable(tb, "Redis", redisErr)
	}
	return redisAdr
}

func startRedis() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { // drain the log so the server never blocks on it
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(addr, 15*time.Second); err != nil {
		_ = cmd.Process.Kill()
		return "", fmt.Errorf("redis-server did not start: %v", err)
	}
	mu.Lock()
	stops = append(stops, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	mu.Unlock()
	return addr, nil
}
