package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"time"
)

// The SQLite nonce log. A row per nonce cost the pure-Go SQLite about 20 µs
// of its one writer (three B-trees to insert into, and the statement parsed
// for every batch's size), and that writer bounded OAuth 1 on SQLite at
// about 40 % of a bare server under load. On SQLite the batcher therefore
// writes one row per group commit instead: nonce_log holds, for each
// commit, the nonces it accepted (a 16-byte key and an expiry each), and
// the batcher keeps every unexpired nonce of the log in memory
// (nonceMemory), where it decides which are fresh.
//
// Why that is as strict as a row per nonce:
//   - The batcher decides inside the write transaction (BEGIN IMMEDIATE:
//     SQLite's one writer lock). It first reads every log row committed
//     since the last one it read, by this process or another (the CLI,
//     another server on the same file), so it decides against every nonce
//     committed before, and its own row commits atomically with that
//     decision. A nonce is answered fresh only after that commit returned,
//     as before ("Nonces and durability" in the package documentation).
//   - nonce_log's ids only grow: a row's id is one more than the largest,
//     and the sweep never deletes the last row, so no id is used twice.
//     If the largest id is ever behind what the batcher read (the file was
//     replaced under it), it forgets its memory and reads the log again.
//   - On the first commit of a process it reads the whole log, and the
//     unexpired rows of the nonces table that earlier versions wrote, so a
//     restart forgets nothing.
//   - A key is SHA-256 of the consumer and the nonce, length-prefixed,
//     truncated to 16 bytes: two different nonces share one only by a
//     collision of 128 bits, and then the later one is refused as a replay
//     (the client signs again); never is a replay accepted.
//
// What it costs: the memory of every unexpired nonce (about 60 bytes
// each; at 5 000 signed requests a second for the ten minutes a nonce is
// kept, about 180 MB), and a server started on a file with many unexpired
// nonces reads them once. PostgreSQL keeps a row per nonce: its writers run
// in parallel, and its replicas share no memory.

// nonceLogTable makes the log (SQLite only, on every open).
const nonceLogTable = `CREATE TABLE IF NOT EXISTS nonce_log (
	id      INTEGER PRIMARY KEY,
	expires BIGINT NOT NULL,
	entries BLOB NOT NULL
)`

// nonceLogIndex lets the sweep find expired log rows without a scan.
const nonceLogIndex = `CREATE INDEX IF NOT EXISTS nonce_log_expires ON nonce_log (expires)`

// nonceLogQueries are the log's statements, prepared once at Open (SQLite
// only): parsing them was a third of a group commit's cost.
var nonceLogQueries = map[string]string{
	"nonceLogLast":  "SELECT coalesce((SELECT max(id) FROM nonce_log), 0), (SELECT n FROM cache_changes WHERE id = 1)",
	"nonceLogSince": "SELECT id, entries FROM nonce_log WHERE id > ? ORDER BY id",
	"nonceLogPut":   "INSERT INTO nonce_log (expires, entries) VALUES (?, ?)",
	"nonceLogSweep": "DELETE FROM nonce_log WHERE expires <= ? AND id < ?",
	"nonceOldSweep": "DELETE FROM nonces WHERE expires <= ?",
}

// nonceEntryBytes is one log entry: a 16-byte key, then the expiry in Unix
// nanoseconds, big-endian.
const nonceEntryBytes = 24

// nonceKey is a nonce's key in the log and in memory.
type nonceKey [16]byte

// keyOf is the key of consumer's nonce.
func keyOf(consumer, nonce string) nonceKey {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(consumer)))
	h.Write(n[:])
	h.Write([]byte(consumer))
	h.Write([]byte(nonce))
	var sum [sha256.Size]byte
	var k nonceKey
	copy(k[:], h.Sum(sum[:0]))
	return k
}

// nonceMemory is every unexpired nonce of the log, as the batcher last read
// it; only the batcher goroutine touches it.
type nonceMemory struct {
	seen   map[nonceKey]int64 // key → expiry (Unix nanoseconds)
	order  []nonceEntry       // in the order added, for the sweep
	head   int                // order[:head] are swept
	lastID int64              // the last log row read
	loaded bool               // the log was read since the memory was last emptied
	// quiet: the WAL index header was own right after this store's last
	// commit, which was the only one since the commit before it; the
	// read cache's change counter then read changes. The next commit that
	// finds the header still own has nothing to read.
	quiet   bool
	own     walHeader
	changes int64
}

// nonceEntry is one nonce in memory's sweep order.
type nonceEntry struct {
	key     nonceKey
	expires int64
}

// used reports whether k is taken at now.
func (m *nonceMemory) used(k nonceKey, now int64) bool {
	exp, ok := m.seen[k]
	return ok && exp > now
}

// add records k until expires (keeping the later expiry of two).
func (m *nonceMemory) add(k nonceKey, expires, now int64) {
	if exp, ok := m.seen[k]; ok && exp >= expires {
		return
	}
	m.addUnused(k, expires, now)
}

// addUnused is add for a key that used has just found free at now:
// whatever it held has expired, so it is replaced without a look (half the
// map's work for each fresh nonce).
func (m *nonceMemory) addUnused(k nonceKey, expires, now int64) {
	if expires <= now {
		return
	}
	if m.seen == nil {
		m.seen = map[nonceKey]int64{}
	}
	m.seen[k] = expires
	m.order = append(m.order, nonceEntry{k, expires})
}

// sweep forgets the expired nonces at the front of the sweep order. A nonce
// behind one with a later expiry waits for it: expiries are at most two
// timestamp windows apart, which bounds what is kept.
func (m *nonceMemory) sweep(now int64) {
	for m.head < len(m.order) && m.order[m.head].expires <= now {
		e := m.order[m.head]
		if m.seen[e.key] == e.expires {
			delete(m.seen, e.key)
		}
		m.order[m.head] = nonceEntry{}
		m.head++
	}
	if m.head > 1024 && m.head > len(m.order)/2 {
		m.order = append(m.order[:0], m.order[m.head:]...)
		m.head = 0
	}
}

// reset empties the memory: the log is read again on the next commit.
func (m *nonceMemory) reset() {
	*m = nonceMemory{}
}

// readLog brings the memory up to date with the log in tx: the rows after m.lastID
// (all of them, and the legacy nonces table, the first time).
// It returns the read cache's change counter as tx sees it.
func (s *sqlStore) readLog(ctx context.Context, tx *sql.Tx, now int64) (changes int64, err error) {
	m := &s.nonceMem
	var last int64
	if err := tx.StmtContext(ctx, s.stmts["nonceLogLast"]).QueryRowContext(ctx).Scan(&last, &changes); err != nil {
		return 0, err
	}
	if last < m.lastID { // the file was replaced, or the log made anew
		m.reset()
	}
	if !m.loaded {
		rows, err := tx.QueryContext(ctx, "SELECT consumer_key, nonce, expires FROM nonces WHERE expires > ?", now)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var consumer, nonce string
			var exp int64
			if err := rows.Scan(&consumer, &nonce, &exp); err != nil {
				rows.Close()
				return 0, err
			}
			m.add(keyOf(consumer, nonce), exp, now)
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		m.loaded = true
	}
	rows, err := tx.StmtContext(ctx, s.stmts["nonceLogSince"]).QueryContext(ctx, m.lastID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var entries []byte
		if err := rows.Scan(&id, &entries); err != nil {
			return 0, err
		}
		if len(entries)%nonceEntryBytes != 0 {
			return 0, fmt.Errorf("sqlstore: nonce_log row %d is %d bytes, not a multiple of %d", id, len(entries), nonceEntryBytes)
		}
		for e := entries; len(e) > 0; e = e[nonceEntryBytes:] {
			m.add(nonceKey(e[:16]), int64(binary.BigEndian.Uint64(e[16:24])), now)
		}
		m.lastID = id
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	return changes, rows.Err()
}

// commitNonceLog decides batch in tx against the log and, when any nonce is
// fresh, appends one log row; it commits tx and answers batch. On an error
// nothing is recorded, memory included, and nothing answered.
func (s *sqlStore) commitNonceLog(ctx context.Context, tx *sql.Tx, batch []*nonceCall, now int64) error {
	m := &s.nonceMem
	asked := time.Now()
	var changes int64
	if h, ok := s.cache.walNow(); ok && m.quiet && h == m.own {
		// This transaction holds the write lock and the header is as this
		// store's own last commit left it: nobody committed since, so the
		// log has no row this memory lacks (the two statements were a
		// fifth of a commit).
		changes = m.changes
		s.quietNonceCommits.Add(1)
	} else {
		var err error
		if changes, err = s.readLog(ctx, tx, now); err != nil {
			m.reset() // a half-read log is read again
			return err
		}
	}
	m.quiet = false
	type accepted struct {
		key     nonceKey
		expires int64
	}
	fresh := make([]accepted, 0, len(batch))
	inBatch := make(map[nonceKey]bool, len(batch))
	entries := make([]byte, 0, nonceEntryBytes*len(batch))
	var maxExp int64
	for _, c := range batch {
		k := c.key
		if m.used(k, now) || inBatch[k] {
			continue
		}
		inBatch[k] = true
		c.fresh = true
		fresh = append(fresh, accepted{k, c.expires})
		entries = append(entries, k[:]...)
		entries = binary.BigEndian.AppendUint64(entries, uint64(c.expires))
		maxExp = max(maxExp, c.expires)
	}
	var id int64
	if len(fresh) > 0 {
		res, err := tx.StmtContext(ctx, s.stmts["nonceLogPut"]).ExecContext(ctx, maxExp, entries)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	if now%16 == 0 { // now and then, sweep what has expired
		if _, err := tx.StmtContext(ctx, s.stmts["nonceLogSweep"]).ExecContext(ctx, now, max(id, m.lastID)); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.stmts["nonceOldSweep"]).ExecContext(ctx, now); err != nil {
			return err
		}
	}
	before, steady := s.cache.walNow() // this transaction holds the write lock: no commit moves it now
	if err := tx.Commit(); err != nil {
		return err
	}
	afterNonceCommit()
	if after, ok := s.cache.walNow(); ok && steady {
		s.cache.vouch(before, after, changes, asked)
		m.quiet, m.own, m.changes = onlyOwnCommit(before, after), after, changes
	}
	// The requests wait for nothing below: the memory is the batcher's
	// own, brought up to date before its next commit.
	answerNonces(batch, nil)
	for _, a := range fresh {
		m.addUnused(a.key, a.expires, now)
	}
	if id > 0 {
		m.lastID = id
	}
	m.sweep(now)
	return nil
}

// afterNonceCommit runs between a nonce commit and the look at the WAL
// index that follows it: a test puts another writer's commit there.
var afterNonceCommit = func() {}
