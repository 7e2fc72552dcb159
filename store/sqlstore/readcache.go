package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
)

// The SQLite read cache. Every request looks up its user and the rule
// table, a token request its token, a session cookie its session, a client
// certificate its revocation;
// with SQLite those reads were a third of a gateway's CPU. The
// cache answers them from memory for as long as the database has not
// changed. Two signals say so. The header of SQLite's WAL index, which
// every connection shares through the -shm file (walwatch_unix.go), moves
// with every commit by any connection — in this process or another,
// such as the gatehouse CLI — and costs a few dozen memory loads to read:
// while it stands still the cache answers, and the first request after it moved
// asks the change counter in cache_changes (migration 6; on a connection of
// its own) whether to clear the cache. Triggers move that counter in every
// transaction that changes a cached table (users, tokens, sessions, rules,
// revoked_certs), whoever commits it, and in no other: a commit of nonces,
// failure counters or anything else moves the WAL header, costs one
// question and leaves the cache warm (PRAGMA data_version, asked before
// session 6, moved with every commit, so each OAuth 1 request or wrong
// password on SQLite emptied the cache for everyone). Where there is no
// watch, the counter is asked at most once per freshnessInterval; with one,
// at least once per walBackstopInterval. This process's own writes to
// users, rules, tokens and sessions clear the cache at once. So a change committed
// elsewhere is seen by the next request (a millisecond later without the
// watch). PostgreSQL has no WAL index to watch: there the cache hears
// NOTIFY from triggers instead, and keeps no tokens or sessions
// (pgwatch.go).

// walBackstopInterval is how long a counter's answer is trusted while
// the WAL watch says nothing changed: the watch sees every commit, and this
// bounds the harm should it ever miss one (the -shm file replaced under
// it).
const walBackstopInterval = 100 * time.Millisecond

// freshnessInterval is how long a counter's answer is trusted without a
// WAL watch (systems without shared memory mappings). It is
// short enough that a script which runs the CLI and then a request sees
// its change (10 ms was not: the CLI can start, commit and exit in less).
const freshnessInterval = time.Millisecond

// changeQuery reads the change counter that the triggers on every cached
// table move (cacheChangeTriggers).
const changeQuery = "SELECT n FROM cache_changes WHERE id = 1"

// maxCachedUsers bounds each of the caches (users, tokens, sessions,
// serials); when one is full it starts over.
const maxCachedUsers = 10_000

type readCache struct {
	db *sql.DB

	// probe guards the counter's connection and serialises asking it:
	// requests that find the answer stale while another asks wait for that
	// answer instead of asking again, and requests that find it fresh never
	// wait for a question in flight. Lock order: probe, then mu.
	probe   sync.Mutex
	conn    *sql.Conn // nil until first use and after a failure
	stmt    *sql.Stmt // changeQuery, prepared once on conn
	version int64     // the counter's last answer; -1: none yet

	// checked is when (unix ns) the answer in force was asked for; 0 = no
	// answer to trust.
	checked atomic.Int64

	// misses counts the cacheable reads that went to the database (tests).
	misses atomic.Uint64

	// With a WAL watch (walwatch_unix.go), an answer holds while the shared
	// WAL index's header still reads walSeen, up to walBackstopInterval;
	// without one, for freshnessInterval.
	path     string
	wal      atomic.Pointer[walWatch]
	walSeen  atomic.Pointer[walHeader]
	walTried bool // guarded by probe: openWALWatch was tried on this connection

	// With PostgreSQL (pgwatch.go): the cache answers while listening,
	// and keeps no tokens or sessions.
	pg         bool
	listening  atomic.Bool
	pgStop     chan struct{}
	pgDone     chan struct{}
	pgStopOnce sync.Once

	mu      sync.Mutex
	gen     atomic.Uint64 // moves (under mu) when the database or this process changed users or rules
	users   map[string]cached[stores.User]
	tokens  map[string]cached[stores.Token] // by hash
	revoked map[string]cached[bool]         // certificate serials
	// consumers are OAuth 1 consumers by key: every signed request reads
	// one.
	consumers map[string]cached[stores.Consumer]
	// sessions by hash: this process's session writes (create, touch at
	// most once per tenth of the idle timeout, delete) clear the cache.
	sessions map[string]cached[stores.Session]
	rules    []auth.Rule
	ruleGen  uint64 // the gen rules were read at; 0 = none cached
}

// cached is a value read at generation gen.
type cached[V any] struct {
	v   V
	gen uint64
}

func newReadCache(db *sql.DB, path string) *readCache {
	c := &readCache{db: db, path: path, users: map[string]cached[stores.User]{}, tokens: map[string]cached[stores.Token]{},
		revoked: map[string]cached[bool]{}, sessions: map[string]cached[stores.Session]{}, consumers: map[string]cached[stores.Consumer]{}}
	c.gen.Store(1)
	return c
}

// lookup returns m[k] if it was read at gen and gen is still current.
func lookup[V any](c *readCache, m map[string]cached[V], k string, gen uint64) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m[k]
	if !ok || e.gen != gen || c.gen.Load() != gen {
		var zero V
		return zero, false
	}
	return e.v, true
}

// remember stores v as m[k] unless the cache moved on since gen (the value
// may be stale); a full map starts over.
func remember[V any](c *readCache, m map[string]cached[V], k string, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(m) >= maxCachedUsers {
		clear(m)
	}
	m[k] = cached[V]{v: v, gen: gen}
}

// generation returns the cache's generation, asking SQLite whether the
// database changed when the last answer is older than freshnessInterval.
// ok is false when SQLite could not be asked: then nothing may be cached.
func (c *readCache) generation(ctx context.Context) (gen uint64, ok bool) {
	if c == nil {
		return 0, false
	}
	if c.pg { // nothing to ask: the notifications say it
		return c.fresh()
	}
	if gen, ok := c.fresh(); ok {
		return gen, true
	}
	c.probe.Lock()
	defer c.probe.Unlock()
	if gen, ok := c.fresh(); ok { // asked while this request waited
		return gen, true
	}
	asked := time.Now() // the answer holds from before the question
	if c.stmt == nil {
		conn, err := c.db.Conn(ctx)
		if err != nil {
			return 0, false
		}
		// Prepared once: parsing a question was two thirds of asking it.
		stmt, err := conn.PrepareContext(ctx, changeQuery)
		if err != nil {
			_ = conn.Close()
			return 0, false
		}
		c.conn, c.stmt, c.version = conn, stmt, -1
	}
	if !c.walTried && c.path != "" {
		c.walTried = true // once per connection: the -shm exists while it is open
		if w, err := openWALWatch(c.path); err == nil {
			c.wal.Store(w)
		}
	}
	// The header before the question: a commit between the two moves it
	// past what is recorded, so the next request asks again.
	var seen walHeader
	steady := true
	w := c.wal.Load()
	if w != nil {
		seen, steady = w.header()
	}
	// Asked without the call's cancellation: with a context that can end,
	// database/sql starts a goroutine per query to watch it (a quarter of
	// the question's cost). A WAL reader is not blocked by writers, and
	// the connection's busy_timeout, below every call's deadline, bounds
	// the rare wait (a WAL reset).
	var v int64
	if err := c.stmt.QueryRowContext(context.WithoutCancel(ctx)).Scan(&v); err != nil {
		c.mu.Lock()
		c.dropConnLocked()
		c.mu.Unlock()
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.version {
		c.version = v
		c.clearLocked()
	}
	if steady { // else a writer was mid-update: the next request asks again
		c.walSeen.Store(&seen)
		c.checked.Store(asked.UnixNano())
	}
	return c.gen.Load(), true
}

// walNow is the WAL-index header as it reads now, and whether there is a
// steady one to read.
func (c *readCache) walNow() (walHeader, bool) {
	if c == nil || c.pg {
		return walHeader{}, false
	}
	w := c.wal.Load()
	if w == nil {
		return walHeader{}, false
	}
	return w.header()
}

// The WAL-index header's words that vouch compares.
const (
	walChangeWord = 2 // iChange: moved by one with every commit
	walFrameWord  = 4 // mxFrame: the last valid frame
	walSaltWord   = 8 // aSalt[0], then aSalt[1]: new when the log restarts
)

// vouch spares the requests after a nonce commit the question that commit
// would cost them. The nonce batcher read the change counter n, and the
// header before, in a transaction that held SQLite's write lock, and the
// header after once it committed. When exactly that one commit lies between
// the two headers (the change count moved by one, the log did not restart,
// frames were added) and it wrote no cached table (nonces never are), n
// holds at after, and the cache records that as if it had asked. Anything
// else (another writer's commit in the meantime, a rebuilt index) and it
// records nothing: the next request asks as before.
func (c *readCache) vouch(before, after walHeader, n int64, asked time.Time) {
	if c == nil || c.pg {
		return
	}
	if !onlyOwnCommit(before, after) {
		return
	}
	c.probe.Lock()
	defer c.probe.Unlock()
	if c.stmt == nil { // never asked on this connection: let a request ask
		return
	}
	if h, steady := c.walNow(); !steady || h != after { // moved again since
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n != c.version {
		c.version = n
		c.clearLocked()
	}
	c.walSeen.Store(&after)
	c.checked.Store(asked.UnixNano())
}

// onlyOwnCommit reports whether the WAL index went from before, read
// while holding the write lock, to after by exactly one commit that added
// frames to the same log: the lock holder's own.
func onlyOwnCommit(before, after walHeader) bool {
	return after[walChangeWord] == before[walChangeWord]+1 && after[walSaltWord] == before[walSaltWord] &&
		after[walSaltWord+1] == before[walSaltWord+1] && after[walFrameWord] > before[walFrameWord]
}

// fresh returns the generation when SQLite was asked within
// freshnessInterval, without asking it and without a lock: a cache hit then
// costs no deadline, no lane and no statement.
func (c *readCache) fresh() (gen uint64, ok bool) {
	if c == nil {
		return 0, false
	}
	if c.pg {
		if !c.listening.Load() {
			return 0, false
		}
		return c.gen.Load(), true
	}
	checked := c.checked.Load()
	if checked == 0 {
		return 0, false
	}
	age := time.Now().UnixNano() - checked
	if w := c.wal.Load(); w != nil {
		h, steady := w.header()
		if seen := c.walSeen.Load(); !steady || seen == nil || h != *seen || age >= int64(walBackstopInterval) {
			return 0, false // another connection committed (or may be committing): ask
		}
		return c.gen.Load(), true
	}
	if age >= int64(freshnessInterval) {
		return 0, false
	}
	return c.gen.Load(), true
}

// invalidate forgets everything: this process wrote users or rules, or the
// file may have been replaced.
func (c *readCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
	c.checked.Store(0)
}

// reset also drops the counter's connection (it may see an old file).
func (c *readCache) reset() {
	if c == nil {
		return
	}
	c.probe.Lock()
	defer c.probe.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
	c.dropConnLocked()
}

// clearLocked empties the cache (mu held).
func (c *readCache) clearLocked() {
	c.gen.Add(1)
	clear(c.users)
	clear(c.tokens)
	clear(c.revoked)
	clear(c.consumers)
	clear(c.sessions)
	c.rules, c.ruleGen = nil, 0
}

// dropConnLocked closes the counter's connection (probe and mu held).
func (c *readCache) dropConnLocked() {
	if c.stmt != nil {
		_ = c.stmt.Close()
		c.stmt = nil
	}
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	c.wal.Store(nil) // the file may be another by the next connection
	c.walTried = false
	c.checked.Store(0)
}

// The callers get, and the cache keeps, copies of their own.

func (c *readCache) user(login string, gen uint64) (*stores.User, bool) {
	u, ok := lookup(c, c.users, login, gen)
	u.Groups = slices.Clone(u.Groups)
	return &u, ok
}

func (c *readCache) putUser(login string, u *stores.User, gen uint64) {
	cp := *u
	cp.Groups = slices.Clone(u.Groups)
	remember(c, c.users, login, cp, gen)
}

func (c *readCache) token(hash string, gen uint64) (*stores.Token, bool) {
	if c.pg {
		return nil, false
	}
	t, ok := lookup(c, c.tokens, hash, gen)
	t.Scopes = slices.Clone(t.Scopes)
	return &t, ok
}

func (c *readCache) putToken(hash string, t *stores.Token, gen uint64) {
	if c.pg {
		return
	}
	cp := *t
	cp.Scopes = slices.Clone(t.Scopes)
	remember(c, c.tokens, hash, cp, gen)
}

func (c *readCache) session(hash string, gen uint64) (*stores.Session, bool) {
	if c.pg {
		return nil, false
	}
	x, ok := lookup(c, c.sessions, hash, gen)
	x.Scopes = slices.Clone(x.Scopes)
	return &x, ok
}

func (c *readCache) putSession(hash string, x *stores.Session, gen uint64) {
	if c.pg {
		return
	}
	cp := *x
	cp.Scopes = slices.Clone(x.Scopes)
	remember(c, c.sessions, hash, cp, gen)
}

func (c *readCache) consumer(key string, gen uint64) (*stores.Consumer, bool) {
	x, ok := lookup(c, c.consumers, key, gen)
	x.Users, x.Methods = slices.Clone(x.Users), slices.Clone(x.Methods)
	return &x, ok
}

func (c *readCache) putConsumer(key string, x *stores.Consumer, gen uint64) {
	cp := *x
	cp.Users, cp.Methods = slices.Clone(x.Users), slices.Clone(x.Methods)
	remember(c, c.consumers, key, cp, gen)
}

func (c *readCache) certRevoked(serial string, gen uint64) (bool, bool) {
	return lookup(c, c.revoked, serial, gen)
}

func (c *readCache) putRevoked(serial string, v bool, gen uint64) {
	remember(c, c.revoked, serial, v, gen)
}

func (c *readCache) cachedRules(gen uint64) ([]auth.Rule, bool) {
	rules, ok := c.sharedRules(gen)
	if !ok {
		return nil, false
	}
	// The caller's own slice; each rule's Methods is shared, and treated as
	// read-only like every rule a PolicyStore returns. (The cache's slice
	// is replaced, never changed: copying it outside the lock is safe.)
	return slices.Clone(rules), true
}

// sharedRules is the cached rule table itself, for SharedRules.
func (c *readCache) sharedRules(gen uint64) ([]auth.Rule, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ruleGen == 0 || c.ruleGen != gen || c.gen.Load() != gen {
		return nil, false
	}
	return slices.Clip(c.rules), true
}

func (c *readCache) putRules(rules []auth.Rule, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	c.rules, c.ruleGen = cloneRules(rules), gen
}

func cloneRules(rules []auth.Rule) []auth.Rule {
	out := slices.Clone(rules)
	for i := range out {
		out[i].Methods = slices.Clone(out[i].Methods)
	}
	return out
}
