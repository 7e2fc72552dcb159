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

// walWatch reads the change counter of SQLite's WAL index, which every
// connection to a WAL database — in this process or another, such as the
// gatehouse CLI — shares through the database's "-shm" file, mapped into
// memory (https://sqlite.org/walformat.html, "the WAL-index header"). A
// writer increments it with every transaction it commits, before the
// commit returns, so reading it tells the read cache at the cost of two
// memory loads, and at once, that another connection has committed.
type walWatch struct {
	mem []byte // the file's first page, mapped read-only and shared
}

// The WAL-index header: two copies of 48 bytes; the change counter
// (iChange) is the third 32-bit word of each, in the machine's byte order.
const (
	walHeaderCopy   = 48
	walChangeOffset = 8
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

// counter returns the change counter, and steady false while a writer is
// between updating the header's two copies (then it may be about to move).
func (w *walWatch) counter() (v uint32, steady bool) {
	a := atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[walChangeOffset])))
	b := atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[walHeaderCopy+walChangeOffset])))
	return a, a == b
}
