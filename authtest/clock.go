package authtest

import (
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use, for the Now hooks of
// gatehouse's configurations (token.Config.Now, session.Config.Now, …) and
// memstore.Store.SetClock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
