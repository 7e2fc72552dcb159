package pwcheck

// Refreshing is how many background checks are running (tests wait for
// them to end).
func (c *Cache) Refreshing() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.refreshing)
}

// DefaultMaxPerUser is the throttle's default limit per (login, address),
// for the external tests.
const DefaultMaxPerUser = defaultMaxPerUser

// Len is the number of cached verifications.
func (c *Cache) Len() int { return c.len() }

// Forget drops every cached verification of login.
func (c *Cache) Forget(login string) { c.forget(login) }
