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
// Every call has a deadline (defaultTimeout, see SetTimeout): when Redis is
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
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/internal/unixnano"
)

// Store is the Redis-backed store of what is short-lived and hot:
// sessions, OAuth 1 nonces and throttle counters (the store interfaces of
// auth/stores whose documentation its methods follow).
type Store interface {
	stores.SessionStore
	stores.SessionCapper
	stores.NonceStore
	stores.FailureCounter
	// Persistent reports whether the server keeps its data across a
	// restart: append-only file on, or RDB snapshots configured. Replay
	// protection (UseNonce) needs it.
	Persistent(ctx context.Context) (bool, error)
	// SetTimeout bounds every call (d <= 0: defaultTimeout).
	SetTimeout(d time.Duration)
	// SetClock replaces the clock that turns absolute expiries into TTLs
	// (tests). It must be the clock of the callers (schemes pass expiries
	// made with theirs).
	SetClock(now func() time.Time)
	// Close closes the client.
	Close() error
}

// redisStore is the Store.
type redisStore struct {
	rdb     redis.UniversalClient
	bounded bool // rdb honours context deadlines on its sockets
	prefix  string
	// timeout is every call's bound, in nanoseconds (SetTimeout): atomic,
	// since the replica watcher Open starts reads it while a caller may
	// still be setting it.
	timeout atomic.Int64
	// waitReplicas is how many replicas acknowledge a nonce before it
	// counts (WAIT); 1 by default behind Sentinel, 0 otherwise.
	waitReplicas int
	now          func() time.Time
	// replicated is the replication ID of the last master seen with a
	// replica connected (watchReplicas); stop ends that watch.
	replicated atomic.Value // string
	stop       chan struct{}
	stopOnce   sync.Once
}

// defaultTimeout bounds every Redis call unless SetTimeout says otherwise.
const defaultTimeout = 2 * time.Second

var (
	_ stores.SessionStore   = (*redisStore)(nil)
	_ stores.NonceStore     = (*redisStore)(nil)
	_ stores.FailureCounter = (*redisStore)(nil)
)

// New wraps a go-redis client. prefix starts every key (default
// "gatehouse:"), so that several services can share one Redis.
//
// Every call is bounded by the store's timeout (SetTimeout), whoever built
// the client: go-redis ignores a context's deadline for socket reads and
// writes unless the client was made with ContextTimeoutEnabled, so for a
// client without it each call runs in a goroutine that the store stops
// waiting for at the deadline (the connection is freed by the client's own
// ReadTimeout).
func New(rdb redis.UniversalClient, prefix string) Store { return newStore(rdb, prefix) }

func newStore(rdb redis.UniversalClient, prefix string) *redisStore {
	if prefix == "" {
		prefix = "gatehouse:"
	}
	bounded := false
	switch c := rdb.(type) {
	case *redis.Client:
		bounded = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		bounded = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		bounded = c.Options().ContextTimeoutEnabled
	}
	s := &redisStore{rdb: rdb, prefix: prefix, now: time.Now, bounded: bounded}
	s.timeout.Store(int64(defaultTimeout))
	return s
}

// SetTimeout bounds every call (d <= 0: defaultTimeout).
func (s *redisStore) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = defaultTimeout
	}
	s.timeout.Store(int64(d))
}

// callTimeout is the bound SetTimeout set.
func (s *redisStore) callTimeout() time.Duration { return time.Duration(s.timeout.Load()) }

// SetClock replaces the clock that turns absolute expiries into TTLs
// (tests). It must be the clock of the callers (schemes pass expiries made
// with theirs).
func (s *redisStore) SetClock(now func() time.Time) { s.now = now }

func (s *redisStore) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.callTimeout())
}

// Persistent reports whether the server keeps its data across a restart:
// append-only file on, or RDB snapshots configured. Replay protection
// (UseNonce) needs it.
func (s *redisStore) Persistent(ctx context.Context) (bool, error) {
	var persistent bool
	err := s.run(ctx, func(ctx context.Context) error {
		conf, err := s.rdb.ConfigGet(ctx, "appendonly").Result()
		if err != nil || conf["appendonly"] == "yes" {
			persistent = err == nil
			return err
		}
		conf, err = s.rdb.ConfigGet(ctx, "save").Result()
		persistent = strings.TrimSpace(conf["save"]) != ""
		return err
	})
	return persistent && err == nil, err
}

// Open connects to a Redis server by URL ("redis://127.0.0.1:6379/0"),
// checks that it answers, and logs (slog's default logger) a warning when it
// keeps no data across restarts (see Persistent). Dial, read and write
// timeouts not set in the URL default to defaultTimeout.
func Open(ctx context.Context, url, prefix string) (Store, error) {
	s, err := connect(url, prefix)
	if err != nil {
		return nil, err
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.rdb.Close()
		return nil, err
	}
	if ok, err := s.Persistent(ctx); err == nil && !ok {
		slog.Default().Warn("redisstore: Redis keeps no data across restarts (appendonly no, save \"\"): " +
			"after a restart it forgets OAuth 1 nonces, and a captured request is accepted again within its timestamp window; " +
			"turn on appendonly (appendfsync everysec or always)")
	}
	return s, nil
}

// Connect is Open without asking the server anything: for a service that
// starts while Redis is down (its calls fail, 503, until Redis answers, and
// then work without a restart). Only a URL that does not parse is an error.
func Connect(url, prefix string) (Store, error) {
	s, err := connect(url, prefix)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func connect(rawURL, prefix string) (*redisStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	wait := -1
	if v := q.Get("wait_replicas"); v != "" {
		if wait, err = strconv.Atoi(v); err != nil || wait < 0 {
			return nil, fmt.Errorf("redisstore: wait_replicas=%q: want a number of replicas ≥ 0", v)
		}
		q.Del("wait_replicas")
		u.RawQuery = q.Encode()
	}
	var rdb *redis.Client
	if q.Has("master_name") {
		// Sentinel: the host and every addr= are sentinels; the client
		// follows the master they name, across a failover.
		opts, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, err
		}
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeouts(q, opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout)
		opts.ContextTimeoutEnabled = true
		rdb = redis.NewFailoverClient(opts)
		if wait < 0 {
			wait = 1 // a nonce is acknowledged by a replica before it counts: a failover cannot forget it
		}
	} else {
		opts, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, err
		}
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeouts(q, opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout)
		opts.ContextTimeoutEnabled = true // the per-call deadline bounds socket reads too
		rdb = redis.NewClient(opts)
	}
	s := newStore(rdb, prefix)
	s.waitReplicas = max(wait, 0)
	if s.waitReplicas > 0 {
		s.stop = make(chan struct{})
		go s.watchReplicas()
	}
	return s, nil
}

// timeouts are the dial, read and write timeouts: those the URL sets, else
// defaultTimeout.
func timeouts(q url.Values, dial, read, write time.Duration) (time.Duration, time.Duration, time.Duration) {
	if !q.Has("dial_timeout") {
		dial = defaultTimeout
	}
	if !q.Has("read_timeout") {
		read = defaultTimeout
	}
	if !q.Has("write_timeout") {
		write = defaultTimeout
	}
	return dial, read, write
}

// Close closes the client.
func (s *redisStore) Close() error {
	s.stopOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
		}
	})
	return s.rdb.Close()
}

// watchReplicas notes, every second, the replication ID of the master
// while it has a replica connected. A master with none that was seen with
// one (a replica's link just dropped) must not take a nonce alone: that
// replica may still be promoted, without the nonce. A master never seen
// with one (the replica just promoted, its replication ID new) may.
func (s *redisStore) watchReplicas() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if id, n, err := s.replication(context.Background()); err == nil && n > 0 {
			s.replicated.Store(id)
		}
		select {
		case <-tick.C:
		case <-s.stop:
			return
		}
	}
}

// replication is the master's replication ID and its connected replicas.
func (s *redisStore) replication(ctx context.Context) (id string, connected int64, err error) {
	var info string
	err = s.run(ctx, func(ctx context.Context) (err error) {
		info, err = s.rdb.Info(ctx, "replication").Result()
		return err
	})
	if err != nil {
		return "", 0, err
	}
	connected = -1
	for line := range strings.SplitSeq(info, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "connected_slaves:"); ok {
			connected, _ = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "master_replid:"); ok {
			id = v
		}
	}
	if connected < 0 || id == "" {
		return "", 0, errors.New("redisstore: INFO replication without connected_slaves or master_replid")
	}
	return id, connected, nil
}

// run calls f under the store's deadline, and returns at the deadline even
// when the client does not (see New). f's results must be read only when
// run returned f's own error, never after a deadline.
func (s *redisStore) run(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel() // after the answer is taken: a late call sees its context end
	if s.bounded {
		return f(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // it answered just in time
			return err
		default:
		}
		return fmt.Errorf("redisstore: no answer within the deadline: %w", ctx.Err())
	}
}

// key is the Redis key of kind and parts: every part but the last is
// length-prefixed, so that no two lists of parts share a key (nonce "b:c"
// of consumer "a" and nonce "c" of consumer "a:b" were one key when the
// parts were only joined with ":"). A single part (sessions) is as it was.
func (s *redisStore) key(kind string, parts ...string) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + len(kind) + 16 + 8*len(parts))
	b.WriteString(s.prefix)
	b.WriteString(kind)
	for i, p := range parts {
		b.WriteByte(':')
		if i < len(parts)-1 {
			b.WriteString(strconv.Itoa(len(p)))
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Sessions are hashes that expire at the session's absolute end (sent as
// a TTL from now).

// createSession also files the session under its login (a sorted set by
// creation time, kept as long as its longest session) for CapSessions.
var createSession = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 1`)

// capSessions forgets the login's sessions that have ended, then deletes
// all but the newest ARGV[1]; ARGV[2] is the prefix of a session's key.
var capSessions = redis.NewScript(`
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[2] .. h) == 0 then redis.call('ZREM', KEYS[1], h) end
end
local n, keep, deleted = redis.call('ZCARD', KEYS[1]), tonumber(ARGV[1]), 0
if n > keep then
  for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, n - keep - 1)) do
    redis.call('DEL', ARGV[2] .. h)
    redis.call('ZREM', KEYS[1], h)
    deleted = deleted + 1
  end
end
return deleted`)

// CapSessions implements stores.SessionCapper in one script.
func (s *redisStore) CapSessions(ctx context.Context, login string, keep int) (int, error) {
	if !stores.Storable(login) {
		return 0, nil
	}
	var n int
	err := s.run(ctx, func(ctx context.Context) (err error) {
		n, err = capSessions.Run(ctx, s.rdb, []string{s.key("sessions-of", login)}, max(keep, 0), s.key("session", "")).Int()
		return err
	})
	return n, err
}

// CreateSession implements stores.SessionStore.
func (s *redisStore) CreateSession(ctx context.Context, x stores.Session) error {
	ttl := x.Expires.Sub(s.now()).Milliseconds()
	if ttl < 1 {
		return errors.New("redisstore: session already expired")
	}
	args := []any{ttl, unixnano.From(x.Created), x.Hash,
		"user", x.User, "user_id", x.UserID, "credential", x.Credential, "scheme", x.Scheme, "scopes", strings.Join(x.Scopes, " "),
		"user_updated", unixnano.From(x.UserUpdated), "created", unixnano.From(x.Created), "last_seen", unixnano.From(x.LastSeen),
		"idle", int64(x.IdleTimeout), "expires", unixnano.From(x.Expires), "csrf", strconv.FormatBool(x.CSRF)}
	var n int
	err := s.run(ctx, func(ctx context.Context) (err error) {
		n, err = createSession.Run(ctx, s.rdb, []string{s.key("session", x.Hash), s.key("sessions-of", x.User)}, args...).Int()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return stores.ErrConflict
	}
	return nil
}

// SessionByHash implements stores.SessionStore.
func (s *redisStore) SessionByHash(ctx context.Context, hash string) (*stores.Session, error) {
	var m map[string]string
	err := s.run(ctx, func(ctx context.Context) (err error) {
		m, err = s.rdb.HGetAll(ctx, s.key("session", hash)).Result()
		return err
	})
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
func (s *redisStore) TouchSession(ctx context.Context, hash string, at time.Time) error {
	var n int
	err := s.run(ctx, func(ctx context.Context) (err error) {
		n, err = touchSession.Run(ctx, s.rdb, []string{s.key("session", hash)}, unixnano.From(at)).Int()
		return err
	})
	if err != nil {
		return err
	}
	if n < 0 {
		return stores.ErrNotFound
	}
	return nil
}

// DeleteSession implements stores.SessionStore.
func (s *redisStore) DeleteSession(ctx context.Context, hash string) error {
	return s.run(ctx, func(ctx context.Context) error { return s.rdb.Del(ctx, s.key("session", hash)).Err() })
}

// UseNonce implements stores.NonceStore: SET NX with a relative TTL (the time
// from now to expires), atomic across every replica. A nonce whose expiry
// has already passed is refused (false), never stored: SET with a past
// expiry would succeed and vanish at once, accepting every replay.
func (s *redisStore) UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	if !stores.Storable(consumer, nonce) {
		return false, stores.ErrInvalid
	}
	ttl := expires.Sub(s.now())
	if ttl < time.Millisecond {
		return false, nil
	}
	var ok string
	var acked int64
	err := s.run(ctx, func(ctx context.Context) (err error) {
		if s.waitReplicas == 0 {
			ok, err = s.rdb.SetArgs(ctx, s.key("nonce", consumer, nonce), "1", redis.SetArgs{Mode: "NX", TTL: ttl}).Result()
			return err
		}
		// One connection for both (a pipeline): WAIT counts the replicas
		// that have this connection's writes.
		pipe := s.rdb.Pipeline()
		set := pipe.SetArgs(ctx, s.key("nonce", consumer, nonce), "1", redis.SetArgs{Mode: "NX", TTL: ttl})
		wait := pipe.Do(ctx, "wait", s.waitReplicas, int64(s.callTimeout()/2/time.Millisecond))
		_, _ = pipe.Exec(ctx)
		if ok, err = set.Result(); err != nil {
			return err
		}
		acked, err = wait.Int64()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ok == "OK" && acked < int64(s.waitReplicas) {
		// Fewer replicas acknowledged it than asked. Fine only on a master
		// that has no replica and was never seen with one (the replica
		// just promoted: there is nothing to fail over to that lacks the
		// nonce); otherwise it is on the master only, a failover now could
		// forget it and the request be accepted again: not fresh, and a
		// store failure (503), so the client signs again.
		id, connected, err := s.replication(ctx)
		if err != nil || connected > 0 || id == s.replicated.Load() {
			return false, fmt.Errorf("redisstore: the nonce reached %d of %d replicas within %s", acked, s.waitReplicas, s.callTimeout()/2)
		}
	}
	return ok == "OK", nil
}

var addFailure = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`)

// AddFailure implements stores.FailureCounter (INCR, and PEXPIRE on the
// first): the time left is Redis's PTTL, so no clock but Redis's counts.
func (s *redisStore) AddFailure(ctx context.Context, scope, key string, window time.Duration) (int, time.Duration, error) {
	if !stores.Storable(scope, key) {
		return 0, 0, stores.ErrInvalid
	}
	var res []int64
	err := s.run(ctx, func(ctx context.Context) (err error) {
		res, err = addFailure.Run(ctx, s.rdb, []string{s.key("fail", scope, key)}, window.Milliseconds()).Int64Slice()
		return err
	})
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
func (s *redisStore) RemoveFailure(ctx context.Context, scope, key string) error {
	if !stores.Storable(scope, key) {
		return nil // never counted
	}
	return s.run(ctx, func(ctx context.Context) error {
		return removeFailure.Run(ctx, s.rdb, []string{s.key("fail", scope, key)}).Err()
	})
}

// Failures implements stores.FailureCounter.
func (s *redisStore) Failures(ctx context.Context, scope, key string) (int, time.Duration, error) {
	if !stores.Storable(scope, key) {
		return 0, 0, nil // never counted
	}
	k := s.key("fail", scope, key)
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	err := s.run(ctx, func(ctx context.Context) error {
		pipe := s.rdb.Pipeline()
		get, ttl = pipe.Get(ctx, k), pipe.PTTL(ctx, k)
		_, err := pipe.Exec(ctx)
		return err
	})
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
func (s *redisStore) ResetFailures(ctx context.Context, scope, key string) error {
	if !stores.Storable(scope, key) {
		return nil // never counted
	}
	return s.run(ctx, func(ctx context.Context) error { return s.rdb.Del(ctx, s.key("fail", scope, key)).Err() })
}
