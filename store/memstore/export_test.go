package memstore

// NonceSlots is the size of s's nonce table, for tests of its bounds.
func NonceSlots(s *Store) int {
	s.nonces.mu.Lock()
	defer s.nonces.mu.Unlock()
	return len(s.nonces.slots)
}
