package sqlstore

// WALWatched reports whether s's read cache watches the shared WAL index
// (tests).
func WALWatched(s *Store) bool { return s.cache != nil && s.cache.wal.Load() != nil }
