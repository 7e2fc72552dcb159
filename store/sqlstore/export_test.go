package sqlstore

// WALWatched reports whether s's read cache watches the shared WAL index
// (tests).
func WALWatched(s Store) bool {
	m := s.(*sqlStore)
	return m.cache != nil && m.cache.wal.Load() != nil
}

// CacheMisses is how many cacheable reads of s went to the database
// (tests).
func CacheMisses(s Store) uint64 { return s.(*sqlStore).cache.misses.Load() }

// Listening reports whether s's PostgreSQL read cache hears notifications
// (tests).
func Listening(s Store) bool {
	m := s.(*sqlStore)
	return m.cache != nil && m.cache.listening.Load()
}

// SetAfterNonceCommit makes f run right after every nonce commit, before
// the batcher looks at the WAL index (tests); nil restores nothing-to-do.
func SetAfterNonceCommit(f func()) {
	if f == nil {
		f = func() {}
	}
	afterNonceCommit = f
}

// QuietNonceCommits is how many of s's nonce commits found that nobody had
// committed since its previous one, and read nothing (tests).
func QuietNonceCommits(s Store) int64 { return s.(*sqlStore).quietNonceCommits.Load() }
