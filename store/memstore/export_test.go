package memstore

// NonceSlots is the size of s's nonce table, for tests of its bounds.
func NonceSlots(s Store) int {
	m := s.(*memStore)
	m.nonces.mu.Lock()
	defer m.nonces.mu.Unlock()
	return len(m.nonces.slots)
}
