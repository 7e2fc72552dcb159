//go:build !unix

package sqlstore

import "errors"

// walWatch is not available here: the read cache asks SQLite instead (see
// freshnessInterval).
type walWatch struct{}

func openWALWatch(string) (*walWatch, error) {
	return nil, errors.New("sqlstore: no shared WAL index on this system")
}

type walHeader struct{}

func (*walWatch) header() (walHeader, bool) { return walHeader{}, false }
