// Package syncbuf is a bytes.Buffer that one goroutine may write (a child
// process's output copied by os/exec) while another reads it: the tests
// that run gatehouse as a process read its log this way.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is safe for one writer and any readers at once.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset empties the buffer.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
