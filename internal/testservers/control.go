package testservers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server of a test's own that the test can stop and
// start again on the same address (fault injection). Its data lives in a
// temporary directory; with Persistent it keeps an append-only file synced
// on every write, so a restart loses nothing.
type RedisServer struct {
	Addr       string
	dir        string
	port       int
	persistent bool
	// extra are more arguments (a replica's --replicaof); sentinel, a
	// config file, makes it a Sentinel.
	extra    []string
	sentinel string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartRedis starts a private redis-server on a free 127.0.0.1 port,
// stopped when the test ends. It skips (or fails, under RequireEnv) when
// redis-server is missing.
func StartRedis(tb testing.TB, persistent bool) *RedisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		unavailable(tb, "Redis", err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	r := &RedisServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: tb.TempDir(), port: port, persistent: persistent}
	if err := r.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Stop() })
	return r
}

// Start starts the server (again) and waits until it accepts connections.
func (r *RedisServer) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir, "--save", "", "--protected-mode", "yes"}
	if r.persistent {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, r.extra...)
	if r.sentinel != "" {
		args = []string{r.sentinel, "--sentinel", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir}
	}
	cmd := exec.Command("redis-server", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
		}
	}()
	r.cmd = cmd
	return waitTCP(r.Addr, 15*time.Second)
}

// Stop kills the server (SIGKILL: no chance to save more than it has).
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// RedisSentinels is a Redis master with one replica, watched by three
// Sentinels that agree (quorum 2) within about a second that the master is
// down and promote the replica: a failover the test can cause by stopping
// Master.
type RedisSentinels struct {
	Master, Replica *RedisServer
	Sentinels       []*RedisServer
	// Name is the master's name the Sentinels know ("gatehouse").
	Name string
}

// URL is the go-redis failover URL of the set: the first Sentinel as host,
// the others as addr parameters, master_name.
func (rs *RedisSentinels) URL() string {
	u := "redis://" + rs.Sentinels[0].Addr + "/0?master_name=" + rs.Name
	for _, s := range rs.Sentinels[1:] {
		u += "&addr=" + s.Addr
	}
	return u
}

// StartRedisSentinels starts the set, persistent (append-only, synced on
// every write), each on a free 127.0.0.1 port, stopped when the test ends.
func StartRedisSentinels(tb testing.TB) *RedisSentinels {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		unavailable(tb, "Redis", err)
	}
	start := func(extra []string, sentinelConf func(port int, dir string) string) *RedisServer {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		r := &RedisServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: tb.TempDir(), port: port, persistent: true, extra: extra}
		if sentinelConf != nil {
			r.sentinel = sentinelConf(port, r.dir)
		}
		if err := r.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(r.Stop)
		return r
	}
	rs := &RedisSentinels{Name: "gatehouse"}
	rs.Master = start(nil, nil)
	rs.Replica = start([]string{"--replicaof", "127.0.0.1", strconv.Itoa(rs.Master.port)}, nil)
	for range 3 {
		rs.Sentinels = append(rs.Sentinels, start(nil, func(port int, dir string) string {
			conf := filepath.Join(dir, "sentinel.conf")
			text := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\nsentinel parallel-syncs %[1]s 1\n",
				rs.Name, rs.Master.port)
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				tb.Fatal(err)
			}
			return conf
		}))
	}
	// Ready when the replica has synced and every Sentinel knows it (a
	// failover needs a replica to promote).
	ask := func(r *RedisServer, args ...string) string {
		out, _ := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(r.port)}, args...)...).Output()
		return string(out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ready := strings.Contains(ask(rs.Replica, "info", "replication"), "master_link_status:up")
		for _, sn := range rs.Sentinels {
			ready = ready && strings.Contains(ask(sn, "sentinel", "replicas", rs.Name), strconv.Itoa(rs.Replica.port))
		}
		if ready {
			return rs
		}
		if time.Now().After(deadline) {
			tb.Fatal("testservers: the Redis replica or its Sentinels did not come up within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Pause stops the server's process (SIGSTOP) without closing its
// connections: a replica that has gone quiet. Resume continues it.
func (r *RedisServer) Pause() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// Resume continues a paused server (SIGCONT).
func (r *RedisServer) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// PostgresServer is a PostgreSQL cluster of a test's own that the test can
// stop and start again on the same port (fault injection).
type PostgresServer struct {
	// DSN is the cluster's "postgres" database as user gatehouse.
	DSN  string
	dir  string
	opts string
	run  func(bin string, args ...string) error
	ctl  string
	// data is the data directory's name under dir ("" = "data").
	data string
}

func (p *PostgresServer) dataDir() string {
	if p.data == "" {
		return "data"
	}
	return p.data
}

// StartPostgres initialises and starts a private cluster (as an
// unprivileged user when running as root) with the given max_connections,
// stopped and removed when the test ends.
func StartPostgres(tb testing.TB, maxConnections int) *PostgresServer {
	tb.Helper()
	p, err := newPostgres(maxConnections)
	if err != nil {
		unavailable(tb, "PostgreSQL", err)
	}
	tb.Cleanup(func() {
		_ = p.run(p.ctl, "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
		os.RemoveAll(p.dir)
	})
	return p
}

// Stop stops the server at once (immediate mode: clients are cut off).
func (p *PostgresServer) Stop() error {
	return p.run(p.ctl, "-D", filepath.Join(p.dir, p.dataDir()), "-m", "immediate", "-w", "stop")
}

// SetMaxConnections changes max_connections for the next Start.
func (p *PostgresServer) SetMaxConnections(n int) {
	p.opts = regexp.MustCompile(`max_connections=\d+`).ReplaceAllString(p.opts, fmt.Sprintf("max_connections=%d", n))
}

// Start starts the stopped server again on the same port.
func (p *PostgresServer) Start() error {
	return p.run(p.ctl, "-D", filepath.Join(p.dir, p.dataDir()), "-l", filepath.Join(p.dir, p.dataDir()+".log"), "-w", "-t", "60", "-o", p.opts, "start")
}

// PostgresPair is a primary with a streaming replica made by
// pg_basebackup, for failover tests: stop the primary (Stop), promote the
// replica (Promote), and a client with DSN finds the new primary.
type PostgresPair struct {
	Primary, Replica *PostgresServer
	// DSN names both hosts, primary first, with
	// target_session_attrs=read-write: a client connects to whichever is
	// the primary.
	DSN string
	// Synchronous says the primary waits for the replica's flush before a
	// commit returns (synchronous_standby_names).
	Synchronous bool
}

// StartPostgresPair starts the pair, the replica streaming from the
// primary (synchronous replication when synchronous is set), both stopped
// and removed when the test ends.
func StartPostgresPair(tb testing.TB, synchronous bool) *PostgresPair {
	tb.Helper()
	primary := StartPostgres(tb, 100)
	pgbase, err := findPGBin("pg_basebackup")
	if err != nil {
		unavailable(tb, "PostgreSQL", err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	pport := regexp.MustCompile(` -p (\d+) `).FindStringSubmatch(primary.opts)[1]
	replica := &PostgresServer{dir: primary.dir, run: primary.run, ctl: primary.ctl, data: "replica",
		opts: regexp.MustCompile(` -p \d+ `).ReplaceAllString(primary.opts, fmt.Sprintf(" -p %d ", port)),
		DSN:  fmt.Sprintf("postgres://gatehouse@127.0.0.1:%d/postgres?sslmode=disable", port)}
	if err := primary.run(pgbase, "-h", "127.0.0.1", "-p", pport, "-U", "gatehouse", "-D", filepath.Join(primary.dir, "replica"),
		"-R", "-X", "stream", "--no-sync", "-c", "fast", "-d", "application_name=replica"); err != nil {
		tb.Fatal(err)
	}
	if err := replica.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = replica.Stop() })
	if synchronous {
		primary.opts += " -c synchronous_standby_names=replica"
		if err := primary.Stop(); err != nil {
			tb.Fatal(err)
		}
		if err := primary.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	return &PostgresPair{Primary: primary, Replica: replica, Synchronous: synchronous,
		DSN: fmt.Sprintf("postgres://gatehouse@127.0.0.1:%s,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write", pport, port)}
}

// Promote makes a replica the primary (pg_ctl promote, waiting until it
// takes writes).
func (p *PostgresServer) Promote() error {
	return p.run(p.ctl, "-D", filepath.Join(p.dir, p.dataDir()), "-w", "-t", "60", "promote")
}

func waitTCP(addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s did not come up: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
