package memstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var _ auth.FailureCounter = (*Store)(nil)

type failureKey struct{ scope, key string }

type failureWindow struct {
	count   int
	resetAt time.Time
}

// AddFailure implements auth.FailureCounter.
func (s *Store) AddFailure(_ context.Context, scope, key string, window time.Duration) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.failures == nil {
		s.failures = map[failureKey]failureWindow{}
	}
	k := failureKey{scope, key}
	w := s.failures[k]
	if !now.Before(w.resetAt) {
		w = failureWindow{resetAt: now.Add(window)}
		s.sweepFailures(now)
	}
	w.count++
	s.failures[k] = w
	return w.count, w.resetAt, nil
}

// Failures implements auth.FailureCounter.
func (s *Store) Failures(_ context.Context, scope, key string) (int, time.Time, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w, ok := s.failures[failureKey{scope, key}]
	if !ok || !s.now().Before(w.resetAt) {
		return 0, time.Time{}, nil
	}
	return w.count, w.resetAt, nil
}

// ResetFailures implements auth.FailureCounter.
func (s *Store) ResetFailures(_ context.Context, scope, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, failureKey{scope, key})
	return nil
}

// sweepFailures drops ended windows once the map has grown, so that a flood
// of distinct keys cannot grow it without bound. Called with mu held.
func (s *Store) sweepFailures(now time.Time) {
	if len(s.failures) < 1024 || len(s.failures) < 2*s.failuresAfterSweep {
		return
	}
	for k, w := range s.failures {
		if !now.Before(w.resetAt) {
			delete(s.failures, k)
		}
	}
	s.failuresAfterSweep = len(s.failures)
}
