//go:build unix

package sqlstore

import (
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walWatch reads the header of SQLite's WAL index, which every connection
// to a WAL database — in this process or another, such as the gatehouse
// CLI — shares through the database's "-shm" file, mapped into memory
// (https://sqlite.org/walformat.html, "the WAL-index header"). A writer
// rewrites it with every transaction it commits, before the commit
// returns: the last valid frame, the frame checksums (which chain over
// every frame's content) and the salts all move. So reading it tells the
// read cache, at the cost of a few dozen memory loads and at once, that
// another connection may have committed; a header that reads as it did
// describes the same log, and so the same database. (The header's change
// counter alone is not enough: a connection that rebuilds the index
// restarts it from zero.)
type walWatch struct {
	mem []byte // the file's first page, mapped read-only and shared
}

// walHeader is one copy of the WAL-index header, as 32-bit words.
type walHeader [walHeaderWords]uint32

// The WAL-index header: two copies of 48 bytes, the second written first.
const (
	walHeaderCopy  = 48
	walHeaderWords = walHeaderCopy / 4
)

// openWALWatch maps the -shm file of the database at path. It fails when
// there is none (not a WAL database, or not a plain file).
func openWALWatch(path string) (*walWatch, error) {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	page := os.Getpagesize()
	if st, err := f.Stat(); err != nil || st.Size() < int64(page) {
		return nil, errors.New("sqlstore: no initialised WAL index")
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, page, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	w := &walWatch{mem: mem}
	// Unmapped once no request can still be reading it.
	runtime.AddCleanup(w, func(mem []byte) { _ = syscall.Munmap(mem) }, mem)
	return w, nil
}

// header returns the header, and steady false while a writer is between
// updating its two copies (then it is about to move).
func (w *walWatch) header() (h walHeader, steady bool) {
	steady = true
	for i := range h {
		h[i] = atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[4*i])))
	}
	for i := range h {
		if atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[walHeaderCopy+4*i]))) != h[i] {
			steady = false
		}
	}
	return h, steady
}
