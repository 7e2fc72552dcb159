// Package sqlstore implements gatehouse's durable stores on database/sql:
// SQLite through modernc.org/sqlite (pure Go, no cgo; WAL mode and a busy
// timeout) as the embedded default, and PostgreSQL through
// github.com/jackc/pgx/v5. Users, policy rules, tokens and personal access
// tokens (hashes only), sessions, OAuth consumers and clients, OAuth 1
// nonces and revoked certificate serials live here.
//
// The schema is created and upgraded on Open by versioned, embedded SQL
// migrations; several replicas may open the same database at once (a
// PostgreSQL advisory lock, or SQLite's write lock, serializes them).
//
// # Faults
//
// Every call has a deadline (Config.Timeout, 2 s by default; on PostgreSQL
// also the server's statement_timeout, with lock_timeout at half of it), so
// a locked table or a database that went away gives an error — which the
// schemes answer with 503 and Retry-After — instead of a hang. Calls run in
// lanes (users, tokens, sessions, the rest), each allowed at most three
// quarters of the pool, so a stuck table cannot starve logins that never
// touch it. When SQLite finds its file read-only (or gone, or the disk
// full), the store logs what to fix and recycles its connections, so that
// writes work again as soon as the file does.
//
// # Nonces and durability
//
// OAuth 1 nonces are written in group commits: each transaction takes
// every nonce waiting when it begins, so under load one commit serves many
// signed requests, and a nonce is answered fresh only after the commit
// that records it has returned. PostgreSQL gets one statement of a row per
// nonce; SQLite one row per commit in a log whose unexpired nonces each
// store keeps in memory and reads up to date inside the commit's write
// transaction, so that another process's nonces count too (noncelog.go
// says why that is as strict as a row per nonce). On SQLite these commits
// run with synchronous=NORMAL on a connection of their own (everything
// else keeps FULL). In WAL mode that loses nothing when the process dies
// (kill -9, an out-of-memory kill, a panic): the commit is in the WAL file
// already. What a power loss or a kernel crash can cost is the last
// moments' nonces, since the WAL is synced at checkpoints, not at each
// commit: a request signed in those moments, captured by someone who can
// read it off the TLS connection, could be replayed once after the machine
// is back, and only while its timestamp is within the window (five
// minutes). That is the same exposure as Redis with appendfsync everysec,
// and much smaller than what the captured request already gives away; a
// deployment that cannot accept it keeps nonces on PostgreSQL (commits
// are synchronous there) or Redis with appendfsync always.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/certserial"
	"github.com/gatehouse/gatehouse/store/internal/unixnano"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is every durable gatehouse store over one database: every store
// interface of auth/stores (whose documentation its methods follow), the
// policy rules of auth.PolicyStore, and what administering the database
// needs.
type Store interface {
	stores.UserAdmin
	stores.UserFolder
	stores.PasswordRehasher
	stores.TokenAdmin
	stores.SessionStore
	stores.SessionCapper
	stores.ConsumerAdmin
	stores.NonceStore
	stores.FailureCounter
	stores.CertAdmin
	stores.ClientAdmin
	auth.PolicyStore
	// SetRules validates and replaces the whole rule table in one
	// transaction; nothing changes when any rule is invalid.
	SetRules(ctx context.Context, rules []auth.Rule) error
	// ListConsumers returns every OAuth 1.0a consumer by key, for
	// administration: Secret and RSAPublicKeyPEM are left empty, so a
	// listing never carries key material.
	ListConsumers(ctx context.Context) ([]stores.Consumer, error)
	// DeleteExpiredSessions removes sessions past their absolute end.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error)
	// CountSessions counts the sessions that have not expired at at (for
	// a metrics gauge; an index search over sessions_expires).
	CountSessions(ctx context.Context, at time.Time) (int, error)
	// Ready reports whether the database answered: nil, or ErrNotReady
	// while a Lazy store's database has not (it tries again at most once
	// a second).
	Ready() error
	// SetClock replaces the clock used for Updated stamps and nonce
	// expiry.
	SetClock(now func() time.Time)
	// DB is the underlying database (for tests and administration).
	DB() *sql.DB
	// Close closes the database.
	Close() error
}

// sqlStore is the Store.
type sqlStore struct {
	db       *sql.DB
	postgres bool
	now      func() time.Time
	stmts    map[string]*sql.Stmt
	timeout  time.Duration
	lanes    [numLanes]chan struct{}
	// nonces are UseNonce calls waiting for the next group commit
	// (nonceBatcher), started on first use.
	nonces    chan *nonceCall
	nonceOnce sync.Once
	closed    chan struct{}
	closeOnce sync.Once
	// nonceDB is the batcher's own connection (nonceConn), touched only
	// by the batcher.
	nonceDB   *sql.Conn
	nonceDBAt time.Time
	nonceMem  nonceMemory // SQLite: the nonce log's unexpired nonces (noncelog.go)
	// quietNonceCommits counts the nonce commits that found nothing to
	// read in the log (tests).
	quietNonceCommits atomic.Int64
	log               *slog.Logger
	path              string // the SQLite file, for messages

	recycleMu   sync.Mutex
	lastRecycle time.Time
	idleConns   int

	// file is the SQLite database file as it was when last seen, to notice
	// when the path names another file (the directory was moved, swapped
	// or restored) or none (deleted); fileChecked is when (unix ns).
	// ready: the database answered and is migrated; lazy stores (Config.Lazy)
	// try again at most once a second (lastTry, unix ns) under readyMu.
	ready   atomic.Bool
	lastTry atomic.Int64
	readyMu sync.Mutex

	// poolSize is the PostgreSQL pool's size while it follows the server
	// (followPoolSize); stopFollow ends that.
	poolSize   atomic.Int32
	stopFollow chan struct{}

	fileMu      sync.Mutex
	file        os.FileInfo
	fileErr     error
	fileChecked atomic.Int64

	cache *readCache // rows that change rarely, while unchanged (readcache.go, pgwatch.go); nil = none
}

// Config says which database to open and how to treat it.
type Config struct {
	// SQLitePath is an SQLite database file (created when missing); or
	// set PostgresDSN ("postgres://user@127.0.0.1:5432/db?sslmode=disable").
	SQLitePath  string
	PostgresDSN string
	// Timeout bounds every store call; default defaultTimeout.
	Timeout time.Duration
	// Lazy (PostgreSQL only) makes Open return at once when the server does
	// not answer: every call fails (a store failure: 503) until it does,
	// then the store migrates and serves, without a restart. For a service
	// that must start while its database is down.
	Lazy bool
	// MaxConns is the PostgreSQL connection pool's size. 0 derives it from
	// the server's max_connections: a quarter of it, at least 4 and at most
	// 64, so that several replicas and the server's own reserve fit.
	MaxConns int
	// Logger hears what an operator must fix (a read-only database file);
	// default slog.Default().
	Logger *slog.Logger
	// NoReadCache makes every call read the database. By default an SQLite
	// store answers lookups of users, rules, tokens, sessions and revoked
	// certificates from memory while none of those tables changed (it
	// watches SQLite's shared WAL index for commits, or looks at most once a
	// millisecond where it cannot, and then asks a change counter that
	// triggers on those tables move), so a change from another process is
	// seen by the next call. A PostgreSQL store answers users, rules, OAuth 1
	// consumers and revoked certificates from memory while a connection of
	// its own LISTENs for the NOTIFY that triggers on those tables send, so
	// a change from another replica is seen when its notification arrives
	// (under a millisecond on one machine); tokens and sessions are read
	// from PostgreSQL on every call.
	NoReadCache bool
}

// defaultTimeout bounds every store call unless Config.Timeout says
// otherwise.
const defaultTimeout = 2 * time.Second

// lane groups calls that touch the same table, so that one stuck table
// cannot hold every connection.
type lane int

const (
	laneUsers lane = iota
	laneTokens
	laneSessions
	laneOther
	numLanes
)

type laneKey struct{}

// begin gives a store call its deadline and a place in its lane; the
// returned func ends both. A call made while another of this store's calls
// is running on the same context (a method calling another) reuses that
// place. When no place frees up before the deadline, the context returned
// has ended and the call fails at once with its error.
func (s *sqlStore) begin(ctx context.Context, l lane) (context.Context, context.CancelFunc) {
	if ctx.Value(laneKey{}) == s {
		return ctx, func() {}
	}
	err := s.ensureReady()
	if err == nil {
		err = s.checkFile(false)
	}
	if err != nil {
		// The call fails at once with err as its context's cause.
		ctx, cancel := context.WithCancelCause(ctx)
		cancel(err)
		return ctx, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	select {
	case s.lanes[l] <- struct{}{}:
		return context.WithValue(ctx, laneKey{}, s), func() { <-s.lanes[l]; cancel() }
	case <-ctx.Done():
		return ctx, cancel
	}
}

// noteErr looks at a failed call: when SQLite says its file cannot be
// written (read-only, replaced, unopenable, disk full), it logs what to fix
// and recycles the pool's idle connections (at most once a second), since
// connections opened while the file was read-only stay read-only after it
// is fixed. It returns err.
func (s *sqlStore) noteErr(err error) error {
	if err == nil || s.postgres {
		return err
	}
	m := strings.ToLower(err.Error())
	var hint string
	switch {
	case strings.Contains(m, "readonly") || strings.Contains(m, "read-only"):
		hint = "the database file (or its -wal/-shm files, or their directory) is read-only: give the service write access"
	case strings.Contains(m, "unable to open") || strings.Contains(m, "cantopen"):
		hint = "the database file cannot be opened: check that it and its directory exist and are writable"
	case strings.Contains(m, "disk is full") || strings.Contains(m, "database or disk is full"):
		hint = "the disk holding the database is full: free space"
	case strings.Contains(m, "disk i/o error"):
		hint = "the database file failed to read or write (disk I/O error): check the file system"
	case strings.Contains(m, "no such table"):
		hint = "the database has lost its tables: another file stands at its path (was the data directory moved or swapped?)"
	default:
		return err
	}
	s.recycleMu.Lock()
	defer s.recycleMu.Unlock()
	if time.Since(s.lastRecycle) < time.Second {
		return err
	}
	s.lastRecycle = time.Now()
	s.log.Error("sqlstore: "+hint, "path", s.path, "error", err.Error())
	s.db.SetMaxIdleConns(0) // close the idle connections; new ones reopen the file
	s.db.SetMaxIdleConns(s.idleConns)
	s.cache.reset()
	return err
}

var (
	_ stores.UserAdmin       = (*sqlStore)(nil)
	_ stores.UserFolder      = (*sqlStore)(nil)
	_ auth.PolicyStore       = (*sqlStore)(nil)
	_ stores.TokenAdmin      = (*sqlStore)(nil)
	_ stores.SessionStore    = (*sqlStore)(nil)
	_ stores.ConsumerStore   = (*sqlStore)(nil)
	_ stores.ClientStore     = (*sqlStore)(nil)
	_ stores.NonceStore      = (*sqlStore)(nil)
	_ stores.CertRevocations = (*sqlStore)(nil)
	_ stores.FailureCounter  = (*sqlStore)(nil)
)

// OpenSQLite opens (creating if needed) the SQLite database file at path in
// WAL mode with a busy timeout, and migrates it, with the defaults of
// Config.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	return Open(ctx, Config{SQLitePath: path})
}

// OpenPostgres opens a PostgreSQL database by DSN
// ("postgres://user@127.0.0.1:5432/db?sslmode=disable") and migrates it,
// with the defaults of Config.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	return Open(ctx, Config{PostgresDSN: dsn})
}

// Open opens the database cfg names and migrates it.
func Open(ctx context.Context, cfg Config) (Store, error) {
	if (cfg.SQLitePath == "") == (cfg.PostgresDSN == "") {
		return nil, errors.New("sqlstore: set exactly one of SQLitePath and PostgresDSN")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SQLitePath != "" {
		// The database holds password hashes and OAuth 1 consumer secrets
		// in clear: a new one is made 0600, and SQLite gives its -wal and
		// -shm files the database's mode.
		if cfg.SQLitePath == ":memory:" || strings.HasPrefix(cfg.SQLitePath, "file:") {
			// not a plain file name
		} else if f, err := os.OpenFile(cfg.SQLitePath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("sqlstore: creating %s: %w", cfg.SQLitePath, err)
		}
		// busy_timeout stays below the call deadline, so a locked database
		// gives SQLite's own "database is locked" rather than a hang.
		busy := max(cfg.Timeout*3/4, 100*time.Millisecond).Milliseconds()
		// mode=rw: a connection opened after the file was deleted or its
		// directory moved fails, instead of making a new, empty database.
		dsn := "file:" + cfg.SQLitePath + "?mode=rw&_pragma=busy_timeout(" + strconv.FormatInt(busy, 10) + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(4)
		db.SetConnMaxIdleTime(time.Minute)
		db.SetConnMaxLifetime(connLifetime)
		s, err := open(ctx, db, false, cfg, 16, 4)
		if err != nil {
			return nil, err // a nil Store, not a nil *sqlStore in one
		}
		return s, nil
	}
	db, err := sql.Open("pgx", withServerTimeouts(cfg.PostgresDSN, cfg.Timeout))
	if err != nil {
		return nil, err
	}
	size := cfg.MaxConns
	if size <= 0 {
		size = 4
		if n, ok := serverPoolSize(ctx, db); ok {
			size = n
		}
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s, err := open(ctx, db, true, cfg, size, size)
	if err != nil {
		return nil, err // a nil Store, not a nil *sqlStore in one
	}
	if cfg.MaxConns <= 0 {
		s.followPoolSize(size)
	}
	return s, nil
}

// serverPoolSize is the pool size for the server's max_connections: a
// quarter of it (replicas and other clients share the rest), 4 to 64.
func serverPoolSize(ctx context.Context, db *sql.DB) (int, bool) {
	var v string
	if err := db.QueryRowContext(ctx, "SHOW max_connections").Scan(&v); err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return min(max(n/4, 4), 64), true
}

// poolFollowEvery is how often the pool size is checked against the
// server's max_connections (which changes only with a restart).
const poolFollowEvery = 5 * time.Second

// followPoolSize keeps the pool sized from the server's max_connections:
// a server restarted with fewer connections would otherwise refuse the
// pool's surplus (503s) until gatehouse restarts too.
func (s *sqlStore) followPoolSize(size int) {
	s.poolSize.Store(int32(size))
	s.stopFollow = make(chan struct{})
	go func() {
		t := time.NewTicker(poolFollowEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stopFollow:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			n, ok := serverPoolSize(ctx, s.db)
			cancel()
			if ok && int32(n) != s.poolSize.Load() {
				s.log.Info("sqlstore: the server's max_connections changed: resizing the pool", "from", s.poolSize.Load(), "to", n)
				s.poolSize.Store(int32(n))
				s.db.SetMaxOpenConns(n)
				s.db.SetMaxIdleConns(n)
			}
		}
	}()
}

func retryBusy(ctx context.Context, postgres bool, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil || postgres || !strings.Contains(err.Error(), "SQLITE_BUSY") && !strings.Contains(err.Error(), "database is locked") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// withServerTimeouts adds statement_timeout and lock_timeout (half of it)
// to a PostgreSQL DSN, URL or keyword form, unless the DSN sets them.
func withServerTimeouts(dsn string, timeout time.Duration) string {
	ms := timeout.Milliseconds()
	params := map[string]int64{"statement_timeout": ms, "lock_timeout": max(ms/2, 1)}
	for _, name := range []string{"statement_timeout", "lock_timeout"} {
		if strings.Contains(dsn, name) {
			continue
		}
		v := strconv.FormatInt(params[name], 10)
		switch {
		case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			dsn += sep + name + "=" + v
		default:
			dsn += " " + name + "=" + v
		}
	}
	return dsn
}

func open(ctx context.Context, db *sql.DB, postgres bool, cfg Config, poolSize, idle int) (*sqlStore, error) {
	s := &sqlStore{db: db, postgres: postgres, now: time.Now, stmts: map[string]*sql.Stmt{}, closed: make(chan struct{}),
		timeout: cfg.Timeout, log: cfg.Logger, path: cfg.SQLitePath, idleConns: idle}
	for i := range s.lanes {
		s.lanes[i] = make(chan struct{}, max(1, poolSize*3/4))
	}
	if err := s.prepareDB(ctx); err != nil {
		if !(postgres && cfg.Lazy) {
			db.Close()
			return nil, err
		}
		s.log.Error("sqlstore: the database does not answer: serving 503 until it does", "error", err.Error())
		s.lastTry.Store(time.Now().UnixNano())
	} else {
		s.ready.Store(true)
	}
	switch {
	case cfg.NoReadCache:
	case postgres:
		s.cache = newReadCache(db, "")
		s.cache.watchPostgres(cfg.PostgresDSN, s.log)
	default:
		s.cache = newReadCache(db, cfg.SQLitePath)
	}
	if !postgres {
		if fi, err := os.Stat(cfg.SQLitePath); err == nil {
			s.file = fi
		}
	}
	return s, nil
}

// prepareDB connects, migrates, backfills and prepares the hot queries.
func (s *sqlStore) prepareDB(ctx context.Context) error {
	// Replicas opening one SQLite file at once wait for each other's
	// migrations: SQLITE_BUSY at open is retried (the per-call busy timeout
	// is kept short for requests), for up to a minute or until ctx ends.
	err := retryBusy(ctx, s.postgres, func() error {
		if err := s.db.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: connecting: %w", err)
		}
		return s.migrate(ctx)
	})
	if err != nil {
		return err
	}
	if err := s.backfillUserIDs(ctx); err != nil {
		return err
	}
	for name, q := range hotQueries {
		st, err := s.db.PrepareContext(ctx, s.rebind(q))
		if err != nil {
			return fmt.Errorf("sqlstore: preparing %s: %w", name, err)
		}
		s.stmts[name] = st
	}
	if !s.postgres {
		for name, q := range nonceLogQueries {
			st, err := s.db.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("sqlstore: preparing %s: %w", name, err)
			}
			s.stmts[name] = st
		}
	}
	return nil
}

// ErrNotReady is what calls get from a Lazy store whose database has not
// answered yet.
var ErrNotReady = errors.New("sqlstore: the database has not answered yet")

// ensureReady makes a Lazy store ready once its database answers (trying
// at most once a second); until then it returns ErrNotReady.
func (s *sqlStore) ensureReady() error {
	if s.ready.Load() {
		return nil
	}
	now := time.Now().UnixNano()
	if last := s.lastTry.Load(); now-last < int64(time.Second) || !s.lastTry.CompareAndSwap(last, now) {
		return ErrNotReady
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.prepareDB(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	s.log.Info("sqlstore: the database answers: serving")
	s.ready.Store(true)
	return nil
}

// Ready reports whether the database answered: nil, or ErrNotReady while a
// Lazy store's database has not (it tries again at most once a second).
func (s *sqlStore) Ready() error { return s.ensureReady() }

// cause is err, or the reason begin ended the call's context (ErrNotReady,
// ErrFileChanged) when that is why it failed.
func cause(ctx context.Context, err error) error {
	if err != nil {
		if c := context.Cause(ctx); c != nil && c != ctx.Err() {
			return c
		}
	}
	return err
}

// queryRow runs a prepared hot query (hotQueries) by name.
func (s *sqlStore) queryRow(ctx context.Context, name string, args ...any) *sql.Row {
	if !s.ready.Load() {
		// Not prepared yet: the call's context has ended (begin), and the
		// driver answers with that.
		return s.db.QueryRowContext(ctx, s.rebind(hotQueries[name]), args...)
	}
	return s.stmts[name].QueryRowContext(ctx, args...)
}

// Close closes the database.
func (s *sqlStore) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	if s.stopFollow != nil {
		close(s.stopFollow)
	}
	s.cache.stopWatch()
	s.cache.reset()
	for _, st := range s.stmts {
		st.Close()
	}
	return s.db.Close()
}

// DB is the underlying database (for tests and administration).
func (s *sqlStore) DB() *sql.DB { return s.db }

// SetClock replaces the clock used for Updated stamps and nonce expiry.
func (s *sqlStore) SetClock(now func() time.Time) { s.now = now }

// rebind turns ? placeholders into PostgreSQL's $n.
func (s *sqlStore) rebind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := s.checkFile(true); err != nil { // never a write into a deleted or replaced file
		return nil, err
	}
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	return res, s.noteErr(cause(ctx, err))
}

// beginTx starts a write transaction (SQLite: BEGIN IMMEDIATE).
func (s *sqlStore) beginTx(ctx context.Context) (*sql.Tx, error) {
	if err := s.checkFile(true); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	return tx, s.noteErr(cause(ctx, err))
}

// ErrFileChanged is what a call gets while the SQLite database file is
// gone from its path or another file stands there than the one the open
// connections use: a moved, swapped or restored data directory, a deleted
// file. It is a store failure (503); the store follows the file at its path
// again within fileCheckEvery of its return.
var ErrFileChanged = errors.New("sqlstore: the database file was deleted or replaced")

// fileCheckEvery is how often reads look at the file's identity; writes
// look every time.
const fileCheckEvery = 50 * time.Millisecond

// connLifetime bounds how long an SQLite connection is kept, so that no
// connection outlives a change of file unnoticed for long.
const connLifetime = 10 * time.Minute

// checkFile compares the file at the SQLite path with the one last seen
// (always when force, else at most every fileCheckEvery). A change drops
// every pooled connection (new ones open the file now at the path) and
// fails this call; a missing file fails every call until it is back.
func (s *sqlStore) checkFile(force bool) error {
	if s.postgres || s.file == nil {
		return nil
	}
	now := time.Now().UnixNano()
	if !force && now-s.fileChecked.Load() < int64(fileCheckEvery) {
		s.fileMu.Lock()
		defer s.fileMu.Unlock()
		return s.fileErr
	}
	s.fileChecked.Store(now)
	fi, statErr := os.Stat(s.path)
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	switch {
	case statErr != nil:
		if s.fileErr == nil {
			s.log.Error("sqlstore: the database file is gone from its path: restore it (or its directory); calls fail until it is back", "path", s.path, "error", statErr.Error())
			s.dropConns()
		}
		s.fileErr = fmt.Errorf("%w: %v", ErrFileChanged, statErr)
		return s.fileErr
	case !os.SameFile(fi, s.file):
		s.log.Error("sqlstore: another file stands at the database's path (moved, swapped or restored): reopening it", "path", s.path)
		s.file = fi
		s.dropConns()
		s.fileErr = nil
		return fmt.Errorf("%w: reopened", ErrFileChanged)
	}
	s.fileErr = nil
	return nil
}

// dropConns closes every pooled connection, idle now or in use once it is
// returned, and forgets what the read cache holds.
func (s *sqlStore) dropConns() {
	s.db.SetConnMaxLifetime(time.Nanosecond)
	s.db.SetMaxIdleConns(0)
	s.db.SetMaxIdleConns(s.idleConns)
	s.cache.reset()
	time.AfterFunc(time.Second, func() { s.db.SetConnMaxLifetime(connLifetime) })
}

func (s *sqlStore) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	return rows, cause(ctx, err)
}

// migrate applies the embedded migrations not applied yet, one transaction
// each, serialized across replicas.
func (s *sqlStore) migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	tx, err := s.db.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE (the DSN's _txlock)
	if err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	defer tx.Rollback()
	if s.postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7274616)"); err != nil {
			return fmt.Errorf("sqlstore: migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)"); err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlstore: migration %s has no version number", base)
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind("SELECT count(*) FROM schema_migrations WHERE version = ?"), version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		for stmt := range strings.SplitSeq(string(body), ";") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: migration %s: %w", base, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO schema_migrations (version, applied) VALUES (?, ?)"), version, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	if s.postgres {
		for _, trigger := range pgCacheTriggers() {
			if _, err := tx.ExecContext(ctx, trigger); err != nil {
				return fmt.Errorf("sqlstore: migrating: %w", err)
			}
		}
	} else {
		for _, stmt := range []string{nonceLogTable, nonceLogIndex} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: migrating: %w", err)
			}
		}
		for _, trigger := range cacheChangeTriggers() {
			if _, err := tx.ExecContext(ctx, trigger); err != nil {
				return fmt.Errorf("sqlstore: migrating: %w", err)
			}
		}
	}
	return s.noteErr(tx.Commit())
}

// cacheChangeBump is what each trigger runs.
const cacheChangeBump = "UPDATE cache_changes SET n = n + 1 WHERE id = 1"

// cachedTables are the tables the SQLite read cache keeps rows of.
var cachedTables = []string{"users", "tokens", "sessions", "rules", "revoked_certs", "consumers"}

// cacheChangeTriggers move cache_changes (migration 6) with every insert,
// update and delete on a cached table, in the writing transaction, whoever
// writes (this process, another replica, the CLI, an older gatehouse). They
// are made on every open when missing (CREATE TRIGGER … END holds
// semicolons that the migration files' statement split would cut).
func cacheChangeTriggers() []string {
	var out []string
	for _, table := range cachedTables {
		for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
			out = append(out, fmt.Sprintf("CREATE TRIGGER IF NOT EXISTS cache_changes_%s_%s AFTER %s ON %s BEGIN %s; END",
				table, strings.ToLower(op), op, table, cacheChangeBump))
		}
	}
	return out
}

func stripComments(s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// backfillUserIDs gives accounts made before schema version 2 an ID and
// binds their existing tokens and sessions to it (a no-op afterwards).
func (s *sqlStore) backfillUserIDs(ctx context.Context) error {
	rows, err := s.query(ctx, "SELECT login FROM users WHERE user_id = ''")
	if err != nil {
		return fmt.Errorf("sqlstore: reading users: %w", err)
	}
	var logins []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return err
		}
		logins = append(logins, l)
	}
	rows.Close()
	if len(logins) == 0 {
		return nil
	}
	for _, l := range logins {
		if _, err := s.exec(ctx, "UPDATE users SET user_id = ?, password_changed = updated WHERE login = ? AND user_id = ''", rand.Text(), l); err != nil {
			return fmt.Errorf("sqlstore: giving users ids: %w", err)
		}
	}
	for _, table := range []string{"tokens", "sessions"} {
		if _, err := s.exec(ctx, "UPDATE "+table+" SET user_id = COALESCE((SELECT user_id FROM users WHERE users.login = "+table+".login), '') WHERE user_id = ''"); err != nil {
			return fmt.Errorf("sqlstore: binding %s to users: %w", table, err)
		}
	}
	return nil
}

// Encoding helpers.

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func list(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func unlist(s string) []string {
	var v []string
	_ = json.Unmarshal([]byte(s), &v)
	if len(v) == 0 {
		return nil
	}
	return v
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return stores.ErrNotFound
	}
	return err
}

// isUnique reports a unique-constraint violation on either database.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505") || strings.Contains(m, "duplicate key")
}

// hotQueries are prepared once at Open.
var hotQueries = map[string]string{
	"user":          "SELECT " + userColumns + " FROM users WHERE login = ?",
	"tokenByHash":   "SELECT " + tokenColumns + " FROM tokens WHERE hash = ?",
	"tokenByID":     "SELECT " + tokenColumns + " FROM tokens WHERE id = ?",
	"sessionByHash": "SELECT hash, login, user_id, credential, scheme, scopes, user_updated, created, last_seen, idle_ns, expires, csrf FROM sessions WHERE hash = ?",
	"consumer":      "SELECT consumer_key, secret, rsa_pem, methods, disabled, user_list, mapping FROM consumers WHERE consumer_key = ?",
}

// Users.

const userColumns = "user_id, user_name, user_domain, password_hash, group_list, disabled, updated, password_changed"

func scanUser(row scanner) (*stores.User, error) {
	var u stores.User
	var groups string
	var disabled int
	var updated, pwChanged int64
	if err := row.Scan(&u.ID, &u.Name, &u.Domain, &u.PasswordHash, &groups, &disabled, &updated, &pwChanged); err != nil {
		return nil, notFound(err)
	}
	u.Groups, u.Disabled, u.Updated, u.PasswordChanged = unlist(groups), disabled == 1, unixnano.To(updated), unixnano.To(pwChanged)
	return &u, nil
}

// User implements stores.UserStore.
func (s *sqlStore) User(ctx context.Context, login string) (*stores.User, error) {
	if !stores.Storable(login) {
		return nil, stores.ErrNotFound
	}
	return cachedRead(s, ctx, laneUsers,
		func(gen uint64) (*stores.User, bool) { return s.cache.user(login, gen) },
		func(ctx context.Context) (*stores.User, error) {
			return scanUser(s.queryRow(ctx, "user", login))
		},
		func(u *stores.User, gen uint64) { s.cache.putUser(login, u, gen) })
}

// cachedRead answers from the read cache (readcache.go) when it can —
// without a lane or a deadline while the cache is fresh — and otherwise
// reads in lane l and remembers the answer.
func cachedRead[T any](s *sqlStore, ctx context.Context, l lane, hit func(gen uint64) (T, bool),
	read func(ctx context.Context) (T, error), put func(v T, gen uint64)) (T, error) {
	if gen, ok := s.cache.fresh(); ok {
		if v, ok := hit(gen); ok {
			return v, nil
		}
	}
	ctx, done := s.begin(ctx, l)
	defer done()
	gen, cacheable := s.cache.generation(ctx)
	if cacheable {
		if v, ok := hit(gen); ok {
			return v, nil
		}
	}
	v, err := read(ctx)
	err = cause(ctx, err)
	if err == nil && cacheable {
		s.cache.misses.Add(1)
		put(v, gen)
	}
	return v, err
}

// UserFold implements stores.UserFolder.
func (s *sqlStore) UserFold(ctx context.Context, login string) (*stores.User, error) {
	if !stores.Storable(login) {
		return nil, stores.ErrNotFound
	}
	// The exact login first, from the read cache when it has it: no
	// deadline, no lane.
	if u, err := s.User(ctx, login); err == nil || !errors.Is(err, stores.ErrNotFound) {
		return u, err
	}
	ctx, done := s.begin(ctx, laneUsers)
	defer done()
	rows, err := s.query(ctx, "SELECT login FROM users WHERE lower(login) = lower(?) LIMIT 2", login)
	if err != nil {
		return nil, err
	}
	var found []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, l)
	}
	rows.Close()
	if len(found) != 1 {
		return nil, stores.ErrNotFound
	}
	return s.User(ctx, found[0])
}

// PutUser implements stores.UserAdmin. Updated is the later of now and just
// after the previous stamp, so that it always moves.
func (s *sqlStore) PutUser(ctx context.Context, u stores.User) error {
	if !stores.Storable(u.Login()) {
		return stores.ErrInvalid
	}
	ctx, done := s.begin(ctx, laneUsers)
	defer done()
	defer s.cache.invalidate()
	updated := s.now().UnixNano()
	if old, err := s.User(ctx, u.Login()); err == nil && updated <= old.Updated.UnixNano() {
		updated = old.Updated.UnixNano() + 1
	}
	// A new account gets a fresh ID; a replaced one keeps its ID, and its
	// PasswordChanged moves only when the hash differs.
	_, err := s.exec(ctx, `INSERT INTO users (login, user_id, user_name, user_domain, password_hash, group_list, disabled, updated, password_changed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (login) DO UPDATE SET user_name = excluded.user_name, user_domain = excluded.user_domain,
		password_hash = excluded.password_hash, group_list = excluded.group_list, disabled = excluded.disabled, updated = excluded.updated,
		password_changed = CASE WHEN users.password_hash = excluded.password_hash THEN users.password_changed ELSE excluded.password_changed END`,
		u.Login(), rand.Text(), u.Name, u.Domain, u.PasswordHash, list(u.Groups), flag(u.Disabled), updated, updated)
	return err
}

// RehashPassword implements stores.PasswordRehasher.
func (s *sqlStore) RehashPassword(ctx context.Context, login, oldHash, newHash string) error {
	if !stores.Storable(login) {
		return stores.ErrNotFound
	}
	ctx, done := s.begin(ctx, laneUsers)
	defer done()
	defer s.cache.invalidate()
	_, err := s.exec(ctx, "UPDATE users SET password_hash = ? WHERE login = ? AND password_hash = ?", newHash, login, oldHash)
	return err
}

// DeleteUser implements stores.UserAdmin: in one transaction the user goes,
// its tokens are revoked and its sessions deleted.
func (s *sqlStore) DeleteUser(ctx context.Context, login string) error {
	if !stores.Storable(login) {
		return stores.ErrNotFound
	}
	ctx, done := s.begin(ctx, laneUsers)
	defer done()
	defer s.cache.invalidate()
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rebind("DELETE FROM users WHERE login = ?"), login)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stores.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, s.rebind("UPDATE tokens SET revoked = ? WHERE login = ? AND revoked = 0"), s.now().UnixNano(), login); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sessions WHERE login = ?"), login); err != nil {
		return err
	}
	return s.noteErr(tx.Commit())
}

// ListUsers implements stores.UserAdmin, sorted by login.
func (s *sqlStore) ListUsers(ctx context.Context) ([]stores.User, error) {
	ctx, done := s.begin(ctx, laneUsers)
	defer done()
	rows, err := s.query(ctx, "SELECT "+userColumns+" FROM users ORDER BY login")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stores.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// Rules.

// Rules implements auth.PolicyStore, in stored order.
func (s *sqlStore) Rules(ctx context.Context) ([]auth.Rule, error) {
	return cachedRead(s, ctx, laneOther, s.cache.cachedRules, s.readRules, s.cache.putRules)
}

// SharedRules is Rules without a copy per call, for auth.RuleTable, which
// reads the rules of every request and never changes them: the slice may
// be the read cache's own. (A method of the store's unexported type, found
// by RuleTable through an interface: not part of the package's API.)
func (s *sqlStore) SharedRules(ctx context.Context) ([]auth.Rule, error) {
	return cachedRead(s, ctx, laneOther, s.cache.sharedRules, s.readRules, s.cache.putRules)
}

func (s *sqlStore) readRules(ctx context.Context) ([]auth.Rule, error) {
	rows, err := s.query(ctx, "SELECT priority, subject, methods, path, verdict, disabled, note FROM rules ORDER BY pos")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Rule
	for rows.Next() {
		var r auth.Rule
		var methods, verdict string
		var disabled int
		if err := rows.Scan(&r.Priority, &r.Subject, &methods, &r.Path, &verdict, &disabled, &r.Comment); err != nil {
			return nil, err
		}
		r.Methods, r.Verdict, r.Disabled = unlist(methods), auth.Verdict(verdict), disabled == 1
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetRules validates and replaces the whole rule table in one transaction;
// nothing changes when any rule is invalid.
func (s *sqlStore) SetRules(ctx context.Context, rules []auth.Rule) error {
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	defer s.cache.invalidate()
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM rules"); err != nil {
		return err
	}
	ins := s.rebind("INSERT INTO rules (pos, priority, subject, methods, path, verdict, disabled, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	for i, r := range rules {
		if _, err := tx.ExecContext(ctx, ins, i, r.Priority, r.Subject, list(r.Methods), r.Path, string(r.Verdict), flag(r.Disabled), r.Comment); err != nil {
			return err
		}
	}
	return s.noteErr(tx.Commit())
}

// Tokens.

type scanner interface{ Scan(...any) error }

const tokenColumns = "id, hash, kind, login, user_id, client_id, family, password_stamp, token_name, scopes, created, expires, last_used, revoked, cert_thumbprint"

func scanToken(row scanner) (*stores.Token, error) {
	var t stores.Token
	var scopes string
	var created, expires, lastUsed, revoked, pwStamp int64
	if err := row.Scan(&t.ID, &t.Hash, &t.Kind, &t.User, &t.UserID, &t.ClientID, &t.Family, &pwStamp, &t.Name, &scopes, &created, &expires, &lastUsed, &revoked, &t.CertThumbprint); err != nil {
		return nil, notFound(err)
	}
	t.PasswordStamp = unixnano.To(pwStamp)
	t.Scopes, t.Created, t.Expires, t.LastUsed, t.Revoked = unlist(scopes), unixnano.To(created), unixnano.To(expires), unixnano.To(lastUsed), unixnano.To(revoked)
	return &t, nil
}

// TokenByHash implements stores.TokenStore.
func (s *sqlStore) TokenByHash(ctx context.Context, hash string) (*stores.Token, error) {
	if hash == "" {
		return nil, stores.ErrNotFound
	}
	return cachedRead(s, ctx, laneTokens,
		func(gen uint64) (*stores.Token, bool) { return s.cache.token(hash, gen) },
		func(ctx context.Context) (*stores.Token, error) {
			return scanToken(s.queryRow(ctx, "tokenByHash", hash))
		},
		func(t *stores.Token, gen uint64) { s.cache.putToken(hash, t, gen) })
}

// TokenByID implements stores.TokenStore.
func (s *sqlStore) TokenByID(ctx context.Context, id string) (*stores.Token, error) {
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	return scanToken(s.queryRow(ctx, "tokenByID", id))
}

// CreateToken implements stores.TokenAdmin.
func (s *sqlStore) CreateToken(ctx context.Context, t stores.Token) error {
	if !stores.Storable(t.User, t.Name) {
		return stores.ErrInvalid
	}
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	defer s.cache.invalidate()
	if t.ID == "" {
		return stores.ErrConflict
	}
	_, err := s.exec(ctx, `INSERT INTO tokens (id, hash, kind, login, user_id, client_id, family, password_stamp, token_name, scopes, created, expires, last_used, revoked, cert_thumbprint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Hash, t.Kind, t.User, t.UserID, t.ClientID, t.Family, unixnano.From(t.PasswordStamp), t.Name, list(t.Scopes), unixnano.From(t.Created), unixnano.From(t.Expires), unixnano.From(t.LastUsed), unixnano.From(t.Revoked), t.CertThumbprint)
	if isUnique(err) {
		return stores.ErrConflict
	}
	return err
}

// ListTokens implements stores.TokenAdmin.
func (s *sqlStore) ListTokens(ctx context.Context, user, kind string) ([]stores.Token, error) {
	if !stores.Storable(user, kind) {
		return nil, nil
	}
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	q := "SELECT " + tokenColumns + " FROM tokens WHERE login = ?"
	args := []any{user}
	if kind != "" {
		q += " AND kind = ?"
		args = append(args, kind)
	}
	rows, err := s.query(ctx, q+" ORDER BY created, id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stores.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// RevokeToken implements stores.TokenAdmin.
func (s *sqlStore) RevokeToken(ctx context.Context, id string, at time.Time) error {
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	defer s.cache.invalidate()
	if _, err := s.exec(ctx, "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked = 0", unixnano.From(at), id); err != nil {
		return err
	}
	_, err := s.TokenByID(ctx, id)
	return err
}

// ConsumeToken implements stores.TokenAdmin: one UPDATE, so exactly one
// concurrent caller sees a row change.
func (s *sqlStore) ConsumeToken(ctx context.Context, id string, at time.Time) (bool, error) {
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	defer s.cache.invalidate()
	res, err := s.exec(ctx, "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked = 0", unixnano.From(at), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		if _, err := s.TokenByID(ctx, id); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// TouchTokens implements stores.TokenAdmin in one transaction.
func (s *sqlStore) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	defer s.cache.invalidate()
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	slices.Sort(ids) // a stable lock order across replicas
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	q := s.rebind("UPDATE tokens SET last_used = ? WHERE id = ? AND last_used < ?")
	for _, id := range ids {
		at := unixnano.From(used[id])
		if _, err := tx.ExecContext(ctx, q, at, id, at); err != nil {
			return err
		}
	}
	return s.noteErr(tx.Commit())
}

// RevokeFamily implements stores.TokenAdmin.
func (s *sqlStore) RevokeFamily(ctx context.Context, family string, at time.Time) (int, error) {
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	defer s.cache.invalidate()
	if family == "" {
		return 0, nil
	}
	res, err := s.exec(ctx, "UPDATE tokens SET revoked = ? WHERE family = ? AND revoked = 0", unixnano.From(at), family)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredTokens implements stores.TokenAdmin.
func (s *sqlStore) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	ctx, done := s.begin(ctx, laneTokens)
	defer done()
	defer s.cache.invalidate()
	res, err := s.exec(ctx, "DELETE FROM tokens WHERE expires <> 0 AND expires < ?", unixnano.From(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Sessions.

// CreateSession implements stores.SessionStore.
func (s *sqlStore) CreateSession(ctx context.Context, x stores.Session) error {
	defer s.cache.invalidate()
	ctx, done := s.begin(ctx, laneSessions)
	defer done()
	_, err := s.exec(ctx, `INSERT INTO sessions (hash, login, user_id, credential, scheme, scopes, user_updated, created, last_seen, idle_ns, expires, csrf)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.Hash, x.User, x.UserID, x.Credential, x.Scheme, list(x.Scopes), unixnano.From(x.UserUpdated), unixnano.From(x.Created), unixnano.From(x.LastSeen), int64(x.IdleTimeout), unixnano.From(x.Expires), flag(x.CSRF))
	if isUnique(err) {
		return stores.ErrConflict
	}
	return err
}

// CapSessions implements stores.SessionCapper: one statement over the
// sessions_login index.
func (s *sqlStore) CapSessions(ctx context.Context, login string, keep int) (int, error) {
	if !stores.Storable(login) {
		return 0, nil
	}
	defer s.cache.invalidate()
	ctx, done := s.begin(ctx, laneSessions)
	defer done()
	res, err := s.exec(ctx, "DELETE FROM sessions WHERE login = ? AND hash NOT IN (SELECT hash FROM sessions WHERE login = ? ORDER BY created DESC, hash DESC LIMIT ?)",
		login, login, max(keep, 0))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SessionByHash implements stores.SessionStore. With SQLite it is answered
// from the read cache while the database has not changed.
func (s *sqlStore) SessionByHash(ctx context.Context, hash string) (*stores.Session, error) {
	return cachedRead(s, ctx, laneSessions,
		func(gen uint64) (*stores.Session, bool) { return s.cache.session(hash, gen) },
		func(ctx context.Context) (*stores.Session, error) { return s.readSession(ctx, hash) },
		func(x *stores.Session, gen uint64) { s.cache.putSession(hash, x, gen) })
}

func (s *sqlStore) readSession(ctx context.Context, hash string) (*stores.Session, error) {
	var x stores.Session
	var scopes string
	var userUpdated, created, lastSeen, idle, expires int64
	var csrf int
	err := s.queryRow(ctx, "sessionByHash", hash).Scan(&x.Hash, &x.User, &x.UserID, &x.Credential, &x.Scheme, &scopes, &userUpdated, &created, &lastSeen, &idle, &expires, &csrf)
	if err != nil {
		return nil, notFound(err)
	}
	x.Scopes, x.UserUpdated, x.Created, x.LastSeen = unlist(scopes), unixnano.To(userUpdated), unixnano.To(created), unixnano.To(lastSeen)
	x.IdleTimeout, x.Expires, x.CSRF = time.Duration(idle), unixnano.To(expires), csrf == 1
	return &x, nil
}

// TouchSession implements stores.SessionStore.
func (s *sqlStore) TouchSession(ctx context.Context, hash string, at time.Time) error {
	defer s.cache.invalidate()
	ctx, done := s.begin(ctx, laneSessions)
	defer done()
	res, err := s.exec(ctx, "UPDATE sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?", unixnano.From(at), hash, unixnano.From(at))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.SessionByHash(ctx, hash); err != nil {
			return err
		}
	}
	return nil
}

// DeleteSession implements stores.SessionStore.
func (s *sqlStore) DeleteSession(ctx context.Context, hash string) error {
	defer s.cache.invalidate()
	ctx, done := s.begin(ctx, laneSessions)
	defer done()
	_, err := s.exec(ctx, "DELETE FROM sessions WHERE hash = ?", hash)
	return err
}

// DeleteExpiredSessions removes sessions past their absolute end.
func (s *sqlStore) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	defer s.cache.invalidate()
	ctx, done := s.begin(ctx, laneSessions)
	defer done()
	res, err := s.exec(ctx, "DELETE FROM sessions WHERE expires < ?", unixnano.From(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// OAuth consumers and clients.

// Consumer implements stores.ConsumerStore.
func (s *sqlStore) Consumer(ctx context.Context, key string) (*stores.Consumer, error) {
	if !stores.Storable(key) {
		return nil, stores.ErrNotFound
	}
	return cachedRead(s, ctx, laneOther,
		func(gen uint64) (*stores.Consumer, bool) { return s.cache.consumer(key, gen) },
		func(ctx context.Context) (*stores.Consumer, error) {
			var c stores.Consumer
			var disabled int
			var users, methods string
			err := s.queryRow(ctx, "consumer", key).Scan(&c.Key, &c.Secret, &c.RSAPublicKeyPEM, &methods, &disabled, &users, &c.Mapping)
			if err != nil {
				return nil, notFound(err)
			}
			c.Disabled, c.Users, c.Methods = disabled == 1, unlist(users), unlist(methods)
			return &c, nil
		},
		func(c *stores.Consumer, gen uint64) { s.cache.putConsumer(key, c, gen) })
}

// PutConsumer creates or replaces an OAuth 1.0a consumer; one that fails
// stores.Consumer.Validate is refused and nothing changes.
func (s *sqlStore) PutConsumer(ctx context.Context, c stores.Consumer) error {
	if !stores.Storable(c.Key) {
		return stores.ErrInvalid
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	defer s.cache.invalidate()
	if err := c.Validate(); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO consumers (consumer_key, secret, rsa_pem, methods, disabled, user_list, mapping) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (consumer_key) DO UPDATE SET secret = excluded.secret, rsa_pem = excluded.rsa_pem, methods = excluded.methods,
		disabled = excluded.disabled, user_list = excluded.user_list, mapping = excluded.mapping`,
		c.Key, c.Secret, c.RSAPublicKeyPEM, list(c.Methods), flag(c.Disabled), list(c.Users), c.Mapping)
	return err
}

// CountSessions counts the sessions that have not expired at at (for a
// metrics gauge; an index search over sessions_expires).
func (s *sqlStore) CountSessions(ctx context.Context, at time.Time) (int, error) {
	ctx, done := s.begin(ctx, laneSessions)
	defer done()
	var n int
	err := s.db.QueryRowContext(ctx, s.rebind("SELECT count(*) FROM sessions WHERE expires > ?"), unixnano.From(at)).Scan(&n)
	return n, err
}

// ListConsumers returns every OAuth 1.0a consumer by key, for
// administration: Secret and RSAPublicKeyPEM are left empty, so a listing
// never carries key material.
func (s *sqlStore) ListConsumers(ctx context.Context) ([]stores.Consumer, error) {
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	rows, err := s.query(ctx, "SELECT consumer_key, methods, disabled, user_list, mapping FROM consumers ORDER BY consumer_key")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stores.Consumer
	for rows.Next() {
		var c stores.Consumer
		var disabled int
		var users, methods string
		if err := rows.Scan(&c.Key, &methods, &disabled, &users, &c.Mapping); err != nil {
			return nil, err
		}
		c.Disabled, c.Users, c.Methods = disabled == 1, unlist(users), unlist(methods)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Client implements stores.ClientStore.
func (s *sqlStore) Client(ctx context.Context, id string) (*stores.Client, error) {
	if !stores.Storable(id) {
		return nil, stores.ErrNotFound
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	var c stores.Client
	var disabled int
	var scopes, grants string
	err := s.db.QueryRowContext(ctx, s.rebind("SELECT client_id, secret_hash, disabled, scopes, grants FROM clients WHERE client_id = ?"), id).
		Scan(&c.ID, &c.SecretHash, &disabled, &scopes, &grants)
	if err != nil {
		return nil, notFound(err)
	}
	c.Disabled, c.Scopes, c.Grants = disabled == 1, unlist(scopes), unlist(grants)
	return &c, nil
}

// PutClient creates or replaces an OAuth 2 client.
func (s *sqlStore) PutClient(ctx context.Context, c stores.Client) error {
	if !stores.Storable(c.ID) {
		return stores.ErrInvalid
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	_, err := s.exec(ctx, `INSERT INTO clients (client_id, secret_hash, disabled, scopes, grants) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, disabled = excluded.disabled,
		scopes = excluded.scopes, grants = excluded.grants`,
		c.ID, c.SecretHash, flag(c.Disabled), list(c.Scopes), list(c.Grants))
	return err
}

// Nonces and certificates.

// UseNonce implements stores.NonceStore with one atomic statement: the insert
// succeeds, or revives an expired row, or changes nothing (a replay).
func (s *sqlStore) UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	if !stores.Storable(consumer, nonce) {
		return false, stores.ErrInvalid
	}
	if err := s.ensureReady(); err != nil {
		return false, err
	}
	if err := s.checkFile(false); err != nil {
		return false, err
	}
	s.nonceOnce.Do(func() {
		s.nonces = make(chan *nonceCall, maxNonceBatch)
		go s.nonceBatcher()
	})
	// The call's deadline travels with it: the batcher answers a call
	// whose deadline passed in the queue at once, and bounds each commit
	// by its oldest call's deadline, so every call is answered by its own
	// (a context with a timer per call was a tenth of a signed request).
	call := nonceCalls.Get().(*nonceCall)
	call.consumer, call.nonce, call.expires, call.fresh = consumer, nonce, unixnano.From(expires), false
	if !s.postgres {
		call.key = keyOf(consumer, nonce) // here, beside the other requests, not in the one batcher
	}
	call.deadline = time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(call.deadline) {
		call.deadline = d
	}
	select {
	case s.nonces <- call:
	default: // the queue is full: wait for room, until the deadline
		timer := time.NewTimer(time.Until(call.deadline))
		defer timer.Stop()
		select {
		case s.nonces <- call:
		case <-timer.C:
			return false, context.DeadlineExceeded
		case <-ctx.Done():
			return false, ctx.Err()
		case <-s.closed:
			return false, errors.New("sqlstore: closed")
		}
	}
	select {
	case err := <-call.done:
		fresh := call.fresh
		nonceCalls.Put(call) // answered: the batcher is done with it
		return fresh, err
	case <-ctx.Done():
		// The nonce may still be committed: it is spent, never accepted
		// twice. The call is not reused: the batcher will still answer it.
		return false, ctx.Err()
	}
}

// nonceCall is one UseNonce waiting for its group commit.
type nonceCall struct {
	consumer, nonce string
	key             nonceKey // SQLite's log key (noncelog.go)
	expires         int64
	deadline        time.Time
	fresh           bool
	done            chan error // buffered: the batcher never waits on it
}

// nonceCalls are calls answered, for reuse.
var nonceCalls = sync.Pool{New: func() any { return &nonceCall{done: make(chan error, 1)} }}

// maxNonceBatch bounds the nonces one group commit writes.
const maxNonceBatch = 256

// nonceBatcher writes OAuth 1 nonces in group commits: each transaction
// takes every nonce waiting when it begins (up to maxNonceBatch), so under
// load one commit serves many requests, and an idle store commits each
// nonce at once. Durability is what it was with one commit per nonce: a
// nonce is answered fresh only after the commit that records it has
// returned. Two uses of one nonce in one batch: the second finds the
// first's row and is refused.
func (s *sqlStore) nonceBatcher() {
	batch := make([]*nonceCall, 0, maxNonceBatch)
	for {
		select {
		case c := <-s.nonces:
			batch = append(batch[:0], c)
		case <-s.closed:
			s.dropNonceConn()
			return
		}
		// Let the requests that are running reach the queue first: one
		// commit then serves them all (a commit costs what 10–20 nonces
		// do). An idle store loses a yield, no more.
		for range 16 {
			waiting := len(s.nonces)
			runtime.Gosched()
			if len(s.nonces) == waiting {
				break
			}
		}
	more:
		for len(batch) < maxNonceBatch {
			select {
			case c := <-s.nonces:
				batch = append(batch, c)
			default:
				break more
			}
		}
		// A call whose deadline passed in the queue is answered now; the
		// commit may take until the oldest deadline of the rest.
		now := time.Now()
		live := batch[:0]
		var oldest time.Time
		for _, c := range batch {
			if !now.Before(c.deadline) {
				c.fresh = false
				c.done <- context.DeadlineExceeded
				continue
			}
			if oldest.IsZero() || c.deadline.Before(oldest) {
				oldest = c.deadline
			}
			live = append(live, c)
		}
		if len(live) == 0 {
			continue
		}
		if err := s.commitNonces(live, oldest); err != nil {
			answerNonces(live, err)
		}
	}
}

// answerNonces gives each call of batch its answer: err, or when nil the
// fresh its commit set. The batcher must not touch a call once answered
// (its request puts it back in nonceCalls).
func answerNonces(batch []*nonceCall, err error) {
	for _, c := range batch {
		if err != nil {
			c.fresh = false
		}
		c.done <- err
	}
}

// commitNonces records batch in one transaction by deadline, setting each
// call's fresh, and answers the batch as soon as it is committed. On an
// error nothing is recorded and nothing is answered: the caller answers
// every call with the error.
func (s *sqlStore) commitNonces(batch []*nonceCall, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	if err := s.checkFile(true); err != nil { // never a write into a deleted or replaced file
		return err
	}
	conn, err := s.nonceConn(ctx)
	if err != nil {
		return s.noteErr(cause(ctx, err))
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		s.dropNonceConn()
		return s.noteErr(cause(ctx, err))
	}
	defer func() { _ = tx.Rollback() }()
	now := unixnano.From(s.now())
	if !s.postgres { // SQLite: a log row per commit (noncelog.go)
		if err := s.commitNonceLog(ctx, tx, batch, now); err != nil {
			s.dropNonceConn()
			return s.noteErr(cause(ctx, err))
		}
		return nil
	}
	// PostgreSQL: one statement for the batch: the nonces it inserts, or finds expired
	// and renews, come back (RETURNING); the others were in use. A nonce
	// twice in one batch is written once: the later calls are replays.
	type key struct{ consumer, nonce string }
	first := make(map[key]*nonceCall, len(batch))
	var q strings.Builder
	q.WriteString("INSERT INTO nonces (consumer_key, nonce, expires) VALUES ")
	args := make([]any, 0, 3*len(batch)+1)
	for _, c := range batch {
		k := key{c.consumer, c.nonce}
		if first[k] != nil {
			continue
		}
		first[k] = c
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, c.consumer, c.nonce, c.expires)
	}
	q.WriteString(" ON CONFLICT (consumer_key, nonce) DO UPDATE SET expires = excluded.expires WHERE nonces.expires <= ? RETURNING consumer_key, nonce")
	args = append(args, now)
	rows, err := tx.QueryContext(ctx, s.rebind(q.String()), args...)
	if err != nil {
		return s.noteErr(cause(ctx, err))
	}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.consumer, &k.nonce); err != nil {
			rows.Close()
			return s.noteErr(cause(ctx, err))
		}
		if c := first[k]; c != nil {
			c.fresh = true
		}
	}
	if err := rows.Close(); err != nil {
		return s.noteErr(cause(ctx, err))
	}
	if err := rows.Err(); err != nil {
		return s.noteErr(cause(ctx, err))
	}
	if now%16 == 0 { // now and then, sweep what has expired
		if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM nonces WHERE expires <= ?"), now); err != nil {
			return s.noteErr(cause(ctx, err))
		}
	}
	if err := tx.Commit(); err != nil {
		s.dropNonceConn()
		return s.noteErr(cause(ctx, err))
	}
	answerNonces(batch, nil)
	return nil
}

// nonceConn is the connection the nonce batcher writes on: its own, so
// that SQLite's synchronous=NORMAL (see the package documentation,
// "Nonces and durability") stays on it and off the pool's. It is renewed
// every minute, as the pool's are, so that it follows a replaced file.
func (s *sqlStore) nonceConn(ctx context.Context) (*sql.Conn, error) {
	if s.nonceDB != nil && time.Since(s.nonceDBAt) < time.Minute {
		return s.nonceDB, nil
	}
	s.dropNonceConn()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if !s.postgres {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // never back to the pool with NORMAL
			conn.Close()
			return nil, err
		}
	}
	s.nonceDB, s.nonceDBAt = conn, time.Now()
	return conn, nil
}

// dropNonceConn closes the batcher's connection; SQLite's goes, not back
// to the pool (it keeps synchronous=NORMAL).
func (s *sqlStore) dropNonceConn() {
	if s.nonceDB == nil {
		return
	}
	if !s.postgres {
		_ = s.nonceDB.Raw(func(any) error { return driver.ErrBadConn })
	}
	s.nonceDB.Close()
	s.nonceDB = nil
}

// CertRevoked implements stores.CertRevocations. A serial that does not
// parse is an error, never "not revoked".
func (s *sqlStore) CertRevoked(ctx context.Context, serial string) (bool, error) {
	norm, err := certserial.Normalize(serial)
	if err != nil {
		return false, err
	}
	return cachedRead(s, ctx, laneOther,
		func(gen uint64) (bool, bool) { return s.cache.certRevoked(norm, gen) },
		func(ctx context.Context) (bool, error) {
			var n int
			err := s.db.QueryRowContext(ctx, s.rebind("SELECT count(*) FROM revoked_certs WHERE serial = ?"), norm).Scan(&n)
			return n > 0, err
		},
		func(revoked bool, gen uint64) { s.cache.putRevoked(norm, revoked, gen) })
}

// RevokeCert adds a certificate serial to the deny-list, in any form
// certserial.Normalize reads (e.g. openssl x509 -serial's output); a serial
// that does not parse is refused.
func (s *sqlStore) RevokeCert(ctx context.Context, serial string) error {
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	defer s.cache.invalidate()
	norm, err := certserial.Normalize(serial)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, "INSERT INTO revoked_certs (serial, revoked) VALUES (?, ?) ON CONFLICT (serial) DO NOTHING",
		norm, s.now().UnixNano())
	return err
}

// Failure counters.

// AddFailure implements stores.FailureCounter with one atomic upsert: a new
// or ended window starts at 1, a running one counts up.
func (s *sqlStore) AddFailure(ctx context.Context, scope, key string, window time.Duration) (int, time.Duration, error) {
	if !stores.Storable(scope, key) {
		return 0, 0, stores.ErrInvalid
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	now := s.now()
	// A window ending more than a minute past a whole window from now means
	// the clock stepped back: start afresh. (Concurrent callers read the
	// clock in an order that need not be the order they write in: hence
	// the slack.)
	stepped := now.Add(window + time.Minute).UnixNano()
	var count int
	var resetAt int64
	err := s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO failures (scope, fail_key, count, reset_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (scope, fail_key) DO UPDATE SET
		count = CASE WHEN failures.reset_at <= ? OR failures.reset_at > ? THEN 1 ELSE failures.count + 1 END,
		reset_at = CASE WHEN failures.reset_at <= ? OR failures.reset_at > ? THEN excluded.reset_at ELSE failures.reset_at END
		RETURNING count, reset_at`),
		scope, key, now.Add(window).UnixNano(), now.UnixNano(), stepped, now.UnixNano(), stepped).
		Scan(&count, &resetAt)
	if err != nil {
		return 0, 0, s.noteErr(err)
	}
	if now.UnixNano()%256 == 0 { // now and then, forget ended windows
		_, _ = s.exec(ctx, "DELETE FROM failures WHERE reset_at <= ?", now.UnixNano())
	}
	return count, max(0, time.Duration(resetAt-now.UnixNano())), nil
}

// RemoveFailure implements stores.FailureCounter.
func (s *sqlStore) RemoveFailure(ctx context.Context, scope, key string) error {
	if !stores.Storable(scope, key) {
		return nil // never counted
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	_, err := s.exec(ctx, "UPDATE failures SET count = count - 1 WHERE scope = ? AND fail_key = ? AND count > 0", scope, key)
	return err
}

// Failures implements stores.FailureCounter.
func (s *sqlStore) Failures(ctx context.Context, scope, key string) (int, time.Duration, error) {
	if !stores.Storable(scope, key) {
		return 0, 0, nil // never counted
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	now := s.now()
	var count int
	var resetAt int64
	err := s.db.QueryRowContext(ctx, s.rebind("SELECT count, reset_at FROM failures WHERE scope = ? AND fail_key = ?"), scope, key).Scan(&count, &resetAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	left := time.Duration(resetAt - now.UnixNano())
	if left <= 0 {
		return 0, 0, nil
	}
	return count, left, nil
}

// ResetFailures implements stores.FailureCounter.
func (s *sqlStore) ResetFailures(ctx context.Context, scope, key string) error {
	if !stores.Storable(scope, key) {
		return nil // never counted
	}
	ctx, done := s.begin(ctx, laneOther)
	defer done()
	_, err := s.exec(ctx, "DELETE FROM failures WHERE scope = ? AND fail_key = ?", scope, key)
	return err
}
