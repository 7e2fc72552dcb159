// Package redisstore keeps the fast-changing, shared state of gatehouse in
// Redis so that every replica of a service sees it at once: sessions
// (auth.SessionStore), OAuth 1 nonces (auth.NonceStore, SET NX with expiry)
// and failed-attempt counters for throttling (auth.FailureCounter).
//
// Durable records (users, tokens, rules) belong in sqlstore; Redis entries
// expire on their own (a session at its absolute end, a nonce after its
// window, a counter at the end of its window).
package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store/internal/unixnano"
)

// Store is the Redis-backed store.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var (
	_ auth.SessionStore   = (*Store)(nil)
	_ auth.NonceStore     = (*Store)(nil)
	_ auth.FailureCounter = (*Store)(nil)
)

// New wraps a go-redis client. prefix starts every key (default
// "gatehouse:"), so that several services can share one Redis.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "gatehouse:"
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// Open connects to a Redis server by URL ("redis://127.0.0.1:6379/0") and
// checks that it answers.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	return New(rdb, prefix), nil
}

// Close closes the client.
func (s *Store) Close() error { return s.rdb.Close() }

func (s *Store) key(parts ...string) string { return s.prefix + strings.Join(parts, ":") }

// Sessions are hashes that expire at the session's absolute end.

var createSession = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1`)

// CreateSession implements auth.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x auth.Session) error {
	args := []any{x.Expires.UnixMilli(),
		"user", x.User, "user_id", x.UserID, "credential", x.Credential, "scheme", x.Scheme, "scopes", strings.Join(x.Scopes, " "),
		"user_updated", unixnano.From(x.UserUpdated), "created", unixnano.From(x.Created), "last_seen", unixnano.From(x.LastSeen),
		"idle", int64(x.IdleTimeout), "expires", unixnano.From(x.Expires), "csrf", strconv.FormatBool(x.CSRF)}
	n, err := createSession.Run(ctx, s.rdb, []string{s.key("session", x.Hash)}, args...).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return auth.ErrConflict
	}
	return nil
}

// SessionByHash implements auth.SessionStore.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*auth.Session, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("session", hash)).Result()
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, auth.ErrNotFound
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	x := &auth.Session{Hash: hash, User: m["user"], UserID: m["user_id"], Credential: m["credential"], Scheme: m["scheme"], UserUpdated: unixnano.To(num("user_updated")),
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

// TouchSession implements auth.SessionStore.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	n, err := touchSession.Run(ctx, s.rdb, []string{s.key("session", hash)}, unixnano.From(at)).Int()
	if err != nil {
		return err
	}
	if n < 0 {
		return auth.ErrNotFound
	}
	return nil
}

// DeleteSession implements auth.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.rdb.Del(ctx, s.key("session", hash)).Err()
}

// UseNonce implements auth.NonceStore: SET NX with the nonce's expiry, atomic
// across every replica.
func (s *Store) UseNonce(ctx context.Context, consumer, nonce string, expires time.Time) (bool, error) {
	ok, err := s.rdb.SetArgs(ctx, s.key("nonce", consumer, nonce), "1", redis.SetArgs{Mode: "NX", ExpireAt: expires}).Result()
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

// AddFailure implements auth.FailureCounter (INCR, and PEXPIRE on the first).
func (s *Store) AddFailure(ctx context.Context, scope, key string, window time.Duration) (int, time.Time, error) {
	res, err := addFailure.Run(ctx, s.rdb, []string{s.key("fail", scope, key)}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, time.Time{}, err
	}
	return int(res[0]), time.Now().Add(time.Duration(res[1]) * time.Millisecond), nil
}

var removeFailure = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`)

// RemoveFailure implements auth.FailureCounter (DECR, never below zero,
// keeping the window's expiry).
func (s *Store) RemoveFailure(ctx context.Context, scope, key string) error {
	return removeFailure.Run(ctx, s.rdb, []string{s.key("fail", scope, key)}).Err()
}

// Failures implements auth.FailureCounter.
func (s *Store) Failures(ctx context.Context, scope, key string) (int, time.Time, error) {
	k := s.key("fail", scope, key)
	pipe := s.rdb.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	n, _ := get.Int()
	d := ttl.Val()
	if d <= 0 {
		return 0, time.Time{}, nil
	}
	return n, time.Now().Add(d), nil
}

// ResetFailures implements auth.FailureCounter.
func (s *Store) ResetFailures(ctx context.Context, scope, key string) error {
	return s.rdb.Del(ctx, s.key("fail", scope, key)).Err()
}
