// Package redisstore keeps the fast-changing, shared state of gatehouse in
// Redis so that every replica of a service sees it at once: sessions
// (stores.SessionStore), OAuth 1 nonces (stores.NonceStore, SET NX with expiry)
// and failed-attempt counters for throttling (stores.FailureCounter).
//
// Durable records (users, tokens, rules) belong in sqlstore; Redis entries
// expire on their own (a session at its absolute end, a nonce after its
// window, a counter at the end of its window). Expiries are sent as
// relative TTLs, so the service's clock and Redis's never have to agree.
//
// # Faults
//
// Every call has a deadline (DefaultTimeout, see SetTimeout): when Redis is
// slow or gone, schemes answer 503 with Retry-After instead of hanging, and
// recover on the next request once it is back.
//
// Replay protection needs a Redis that keeps its data across restarts
// (appendonly yes, or RDB snapshots): a Redis without persistence forgets
// every nonce when it restarts, and a request captured before the restart
// is accepted once more within its timestamp window. Open checks the
// server's configuration (CONFIG GET appendonly, save) and logs a loud
// warning when neither is on; see Persistent.
package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/internal/unixnano"
)

// Store is the Redis-backed store.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	now     func() time.Time
}

// DefaultTimeout bounds every Redis call unless SetTimeout says otherwise.
const DefaultTimeout = 2 * time.Second

var (
	_ stores.SessionStore   = (*Store)(nil)
	_ stores.NonceStore     = (*Store)(nil)
	_ stores.FailureCounter = (*Store)(nil)
)

// New wraps a go-redis client. prefix starts every key (default
// "gatehouse:"), so that several services can share one Redis.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "gatehouse:"
	}
	return &Store{rdb: rdb, prefix: prefix, timeout: DefaultTimeout, now: time.Now}
}

// SetTimeout bounds every call (d <= 0: DefaultTimeout).
func (s *Store) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	s.timeout = d
}

// SetClock replaces the clock that turns absolute expiries into TTLs
// (tests). It must be the clock of the callers (schemes pass expiries made
// with theirs).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Persistent reports whether the server keeps its data across a restart:
// append-only file on, or RDB snapshots configured. Replay protection
// (UseNonce) needs it.
func (s *Store) Persistent(ctx context.Context) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	conf, err := s.rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return false, err
	}
	if conf["appendonly"] == "yes" {
		return true, nil
	}
	conf, err = s.rdb.ConfigGet(ctx, "save").Result()
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(conf["save"]) != "", nil
}

// Open connects to a Redis server by URL ("redis://127.0.0.1:6379/0"),
// checks that it answers, and logs (slog's default logger) a warning when it
// keeps no data across restarts (see Persistent). Dial, read and write
// timeouts not set in the URL default to DefaultTimeout.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(url, "dial_timeout") {
		opts.DialTimeout = DefaultTimeout
	}
	if !strings.Contains(url, "read_timeout") {
		opts.ReadTimeout = DefaultTimeout
	}
	if !strings.Contains(url, "write_timeout") {
		opts.WriteTimeout = DefaultTimeout
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	s := New(rdb, prefix)
	if ok, err := s.Persistent(ctx); err == nil && !ok {
		slog.Default().Warn("redisstore: Redis keeps no data across restarts (appendonly no, save \"\"): " +
			"after a restart it forgets OAuth 1 nonces, and a captured request is accepted again within its timestamp window; " +
			"turn on appendonly (appendfsync everysec or always)")
	}
	return s, nil
}

// Close closes the client.
func (s *Store) Close() error { return s.rdb.Close() }

func (s *Store) key(parts ...string) string { return s.prefix + strings.Join(parts, ":") }

// Sessions are hashes that expire at the session's absolute end (sent as
// a TTL from now).

var createSession = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`)

// CreateSession implements stores.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x stores.Session) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	ttl := x.Expires.Sub(s.now()).Milliseconds()
	if ttl < 1 {
		return errors.New("redisstore: session already expired")
	}
	args := []any{ttl,
		"user", x.User, "user_id", x.UserID, "credential", x.Credential, "scheme", x.Scheme, "scopes", strings.Join(x.Scopes, " "),
		"user_updated", unixnano.From(x.UserUpdated), "created", unixnano.From(x.Created), "last_seen", unixnano.From(x.LastSeen),
		"idle", int64(x.IdleTimeout), "expires", unixnano.From(x.Expires), "csrf", strconv.FormatBool(x.CSRF)}
	n, err := createSession.Run(ctx, s.rdb, []string{s.key("session", x.Hash)}, args...).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return stores.ErrConflict
	}
	return nil
}

// SessionByHash implements stores.SessionStore.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*stores.Session, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	m, err := s.rdb.HGetAll(ctx, s.key("session", hash)).Result()
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, stores.ErrNotFound
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	x := &stores.Session{Hash: hash, User: m["user"], UserID: m["user_id"], Credential: m["credential"], Scheme: m["scheme"], UserUpdated: unixnano.To(num("user_updated")),
		Created: unixnano.To(num("created")), LastSeen: unixnano.To(num("last_seen")), IdleTimeout: time.Duration(num("idle")),
		Expires: unixnano.To(num("expires")), CSRF: m["csrf"] == "true"}
	if m["scopes"] != "" {
		x.Scopes = strings.Fields(m["scopes"])
	}
	return x, nil
}

var touchSession = redis.NewScript(`
local seen = redis.call('HGET', KEYS[1], 'last_seen')
if not seen then return -1 end
if tonumber(seen) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'last_seen', ARGV[1]) end
return 1`)

// TouchSession implements stores.SessionStore.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	n, err := touchSession.Run(ctx, s.rdb, []string{s.key("session", hash)}, unixnano.From(at)).Int()
	if err != nil {
		return err
	}
	if n < 0 {
		return stores.ErrNotFound
	}
	return nil
}

// DeleteSession implements stores.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.rdb.Del(ctx, s.key("session", hash)).Err()
}

// UseNonce implements stores.NonceStore: SET NX with a relative TTL (the time
// from now to expires), atomic across every replica. A nonce whose expiry
// has already passed is refused (false), never stored: SET with a past
// expiry would succeed and vanish at once, accepting every replay.
func (s *Store) UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	ttl := expires.Sub(s.now())
	if ttl < time.Millisecond {
		return false, nil
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	ok, err := s.rdb.SetArgs(ctx, s.key("nonce", consumer, nonce), "1", redis.SetArgs{Mode: "NX", TTL: ttl}).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ok == "OK", nil
}

var addFailure = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`)

// AddFailure implements stores.FailureCounter (INCR, and PEXPIRE on the
// first): the time left is Redis's PTTL, so no clock but Redis's counts.
func (s *Store) AddFailure(ctx context.Context, scope, key string, window time.Duration) (int, time.Duration, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res, err := addFailure.Run(ctx, s.rdb, []string{s.key("fail", scope, key)}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	return int(res[0]), max(0, time.Duration(res[1])*time.Millisecond), nil
}

var removeFailure = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`)

// RemoveFailure implements stores.FailureCounter (DECR, never below zero,
// keeping the window's expiry).
func (s *Store) RemoveFailure(ctx context.Context, scope, key string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return removeFailure.Run(ctx, s.rdb, []string{s.key("fail", scope, key)}).Err()
}

// Failures implements stores.FailureCounter.
func (s *Store) Failures(ctx context.Context, scope, key string) (int, time.Duration, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	k := s.key("fail", scope, key)
	pipe := s.rdb.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, _ := get.Int()
	d := ttl.Val()
	if d <= 0 {
		return 0, 0, nil
	}
	return n, d, nil
}

// ResetFailures implements stores.FailureCounter.
func (s *Store) ResetFailures(ctx context.Context, scope, key string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.rdb.Del(ctx, s.key("fail", scope, key)).Err()
}
