package memstore

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/stores"
	"time"
)

var _ stores.FailureCounter = (*memStore)(nil)

type failureKey struct{ scope, key string }

type failureWindow struct {
	count   int
	resetAt time.Time
	window  time.Duration
}

// left is the time left in the window at now: zero when it has ended. A
// clock that went backwards never stretches a window beyond its length.
func (w failureWindow) left(now time.Time) time.Duration {
	d := w.resetAt.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, w.window)
}

// AddFailure implements stores.FailureCounter.
func (s *memStore) AddFailure(_ context.Context, scope, key string, window time.Duration) (int, time.Duration, error) {
	if !stores.Storable(scope, key) {
		return 0, 0, stores.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.failures == nil {
		s.failures = map[failureKey]failureWindow{}
	}
	k := failureKey{scope, key}
	w, held := s.failures[k]
	if w.left(now) == 0 {
		w = failureWindow{resetAt: now.Add(window), window: window}
		if !held {
			s.sweepFailures(now)
		}
	} else if w.resetAt.Sub(now) > w.window {
		w.resetAt = now.Add(w.window) // the clock went back: keep the window's length
	}
	w.count++
	s.failures[k] = w
	return w.count, w.left(now), nil
}

// RemoveFailure implements stores.FailureCounter.
func (s *memStore) RemoveFailure(_ context.Context, scope, key string) error {
	if !stores.Storable(scope, key) {
		return nil // never counted
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := failureKey{scope, key}
	if w, ok := s.failures[k]; ok && w.count > 0 {
		w.count--
		s.failures[k] = w
	}
	return nil
}

// Failures implements stores.FailureCounter.
func (s *memStore) Failures(_ context.Context, scope, key string) (int, time.Duration, error) {
	if !stores.Storable(scope, key) {
		return 0, 0, nil // never counted
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	w, ok := s.failures[failureKey{scope, key}]
	left := w.left(s.now())
	if !ok || left == 0 {
		return 0, 0, nil
	}
	return w.count, left, nil
}

// ResetFailures implements stores.FailureCounter.
func (s *memStore) ResetFailures(_ context.Context, scope, key string) error {
	if !stores.Storable(scope, key) {
		return nil // never counted
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, failureKey{scope, key})
	return nil
}

// defaultMaxFailureKeys bounds the failure counters a Store keeps.
const defaultMaxFailureKeys = 100_000

// SetMaxFailureKeys bounds the number of failure counters kept (default
// defaultMaxFailureKeys). When a flood of distinct keys (new addresses,
// new logins) fills it within one window, counters with a single failure
// go first, then the rest in no particular order: a counter near its limit
// is kept unless the flood is made of such counters.
func (s *memStore) SetMaxFailureKeys(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxFailureKeys = n
}

// FailureKeys is the number of failure counters held.
func (s *memStore) FailureKeys() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.failures)
}

// sweepFailures drops ended windows once the map has grown, and enforces
// the key bound, so that a flood of distinct keys cannot grow it without
// bound. Called with mu held, before a new key is added.
func (s *memStore) sweepFailures(now time.Time) {
	limit := s.maxFailureKeys
	if limit <= 0 {
		limit = defaultMaxFailureKeys
	}
	if len(s.failures) < min(1024, limit) || len(s.failures) < 2*s.failuresAfterSweep && len(s.failures) < limit {
		return
	}
	for k, w := range s.failures {
		if w.left(now) == 0 || w.count == 0 {
			delete(s.failures, k)
		}
	}
	if len(s.failures) >= limit {
		for k, w := range s.failures {
			if w.count <= 1 {
				delete(s.failures, k)
			}
		}
	}
	for k := range s.failures {
		if len(s.failures) < limit*9/10 {
			break
		}
		delete(s.failures, k)
	}
	s.failuresAfterSweep = len(s.failures)
}
