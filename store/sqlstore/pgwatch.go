package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL read cache. With PostgreSQL every call used to read the
// database: an OAuth 1 request asked for its consumer, its user and the
// rule table, three round trips, and the reference server on PostgreSQL
// served a fifth of what it served on SQLite. The cache keeps the rows that
// change rarely — users, rules, OAuth 1 consumers and revoked certificate
// serials — for as long as PostgreSQL has not said they changed.
//
// How it hears of a change: a statement trigger on each of those tables
// (pgCacheTriggers, made by the migration) sends NOTIFY gatehouse_cache in the
// writing transaction, whoever writes it (this process, another replica,
// the CLI); PostgreSQL delivers it when that transaction commits. Each
// store keeps one connection of its own that LISTENs and empties the cache
// on every notification. The cache answers only while that connection is
// up and was checked (a query) within pgLivenessInterval of silence; while
// it is down, or connected to a standby (which never notifies), every call
// reads the database, as before, and the cache starts empty once it is back.
//
// What it costs in freshness: a change committed by another replica is
// seen once its notification arrives, normally well under a millisecond
// after the commit on one machine; this process's own writes empty the
// cache at once. If the listening connection dies without a word (a
// network partition), the cache keeps answering for at most about two
// liveness intervals before it is given up. Tokens and sessions are not
// cached on PostgreSQL: they are written on every login and sign-out, and
// their revocation must hold on every replica at once.

// pgCacheChannel is the NOTIFY channel of cache changes.
const pgCacheChannel = "gatehouse_cache"

// pgLivenessInterval is how long the listening connection may be silent
// before it is checked with a query.
const pgLivenessInterval = 2 * time.Second

// pgCachedTables are the tables whose rows the PostgreSQL read cache keeps.
var pgCachedTables = []string{"users", "rules", "consumers", "revoked_certs"}

// pgCacheTriggers make the function and the statement triggers that
// NOTIFY gatehouse_cache on every change of a cached table (PostgreSQL 11
// or later), where they are missing. They run in the migration
// transaction, under its advisory lock, on every open.
func pgCacheTriggers() []string {
	// Made only when missing, so that a replica whose role does not own
	// the function (another role migrated the database) still opens.
	out := []string{`DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'gatehouse_cache_notify' AND pronamespace = current_schema()::regnamespace) THEN
		CREATE FUNCTION gatehouse_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $f$
		BEGIN
			PERFORM pg_notify('` + pgCacheChannel + `', TG_TABLE_NAME);
			RETURN NULL;
		END $f$;
	END IF;
END $$`}
	for _, table := range pgCachedTables {
		out = append(out, fmt.Sprintf(`DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'gatehouse_cache_notify' AND tgrelid = '%[1]s'::regclass) THEN
		CREATE TRIGGER gatehouse_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %[1]s
			FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_cache_notify();
	END IF;
END $$`, table))
	}
	return out
}

// watchPostgres starts the listening connection to dsn; the cache answers
// only while it is up (see above). stopWatch ends it.
func (c *readCache) watchPostgres(dsn string, log *slog.Logger) {
	c.pg = true
	c.pgStop, c.pgDone = make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-c.pgStop
		cancel()
	}()
	go func() {
		defer close(c.pgDone)
		wait := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := c.listen(ctx, dsn)
			c.listening.Store(false)
			c.invalidate()
			if ctx.Err() != nil {
				return
			}
			if log != nil && !errors.Is(err, errStandby) && !errors.Is(err, errNoTriggers) {
				log.Warn("sqlstore: the read cache's PostgreSQL connection ended: reading every call from the database until it is back", "error", err.Error())
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
	}()
}

// errStandby: the cache's connection reached a standby, which never
// notifies (notifications are not replicated).
var errStandby = errors.New("sqlstore: connected to a standby: no notifications")

// errNoTriggers: the database has not been migrated yet.
var errNoTriggers = errors.New("sqlstore: the cache triggers are not there yet")

// listen holds one listening connection until it fails or ctx ends.
func (c *readCache) listen(ctx context.Context, dsn string) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return err
	}
	if standby {
		return errStandby
	}
	// The triggers come with the migration: a database no gatehouse of
	// this version has opened yet (a Lazy store's, before it answered)
	// would change without a word.
	var triggers int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_trigger WHERE tgname = 'gatehouse_cache_notify'").Scan(&triggers); err != nil {
		return err
	}
	if triggers < len(pgCachedTables) {
		return errNoTriggers
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgCacheChannel); err != nil {
		return err
	}
	// Anything cached before now may have missed a notification.
	c.invalidate()
	c.listening.Store(true)
	for {
		wctx, cancel := context.WithTimeout(ctx, pgLivenessInterval)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			c.invalidate()
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Silence: make sure the connection is still there.
			pctx, cancel := context.WithTimeout(ctx, pgLivenessInterval)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// stopWatch ends the listening connection, if there is one.
func (c *readCache) stopWatch() {
	if c == nil || c.pgStop == nil {
		return
	}
	c.pgStopOnce.Do(func() { close(c.pgStop) })
	<-c.pgDone
}
