// Package logbuf batches log writes: a Writer keeps what it is given in
// memory and writes it out in one go at least every interval, when a batch
// grows past a limit, and on Flush or Close. A busy server's audit log then
// costs one write system call per batch instead of one per request.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// MaxBatch is how many bytes a Writer holds before it writes them out at
// once, whatever the interval.
const MaxBatch = 64 << 10

// Writer is an io.Writer that batches writes to the writer it wraps (see
// the package comment). It is safe for concurrent use. Each Write is kept
// whole: a log handler's record never reaches the underlying writer split
// across batches.
type Writer struct {
	w io.Writer

	mu     sync.Mutex // guards buf, spare, err and direct
	buf    []byte
	spare  []byte
	err    error // the underlying writer's last error, reported once
	direct bool  // no batching (no interval, or closed): Write writes at once

	out  sync.Mutex // serialises writes to w, so batches stay in order
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a Writer that writes to w at least every interval: what it
// holds is lost only if the process dies without Close. An interval ≤ 0
// means no batching: each Write goes to w at once.
func New(w io.Writer, interval time.Duration) *Writer {
	b := &Writer{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	if interval <= 0 {
		b.direct = true
		close(b.done)
		return b
	}
	go b.loop(interval)
	return b
}

func (b *Writer) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = b.Flush()
		case <-b.stop:
			return
		}
	}
}

// Write keeps p for the next batch, or writes it at once when the Writer
// does not batch (any more). It reports an error the underlying writer
// returned since the last call, so that a failing log does not go
// unnoticed.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.direct {
		b.mu.Unlock()
		b.out.Lock()
		defer b.out.Unlock()
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= MaxBatch
	err := b.err
	b.err = nil
	b.mu.Unlock()
	if full {
		if ferr := b.Flush(); err == nil {
			err = ferr
		}
	}
	return len(p), err
}

// Flush writes out what the Writer holds.
func (b *Writer) Flush() error {
	b.out.Lock()
	defer b.out.Unlock()
	b.mu.Lock()
	batch := b.buf
	b.buf, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	var err error
	if len(batch) > 0 {
		_, err = b.w.Write(batch)
	}
	b.mu.Lock()
	if cap(batch) <= 4*MaxBatch { // keep a buffer of a usual size for the next batch
		b.spare = batch[:0]
	}
	if err != nil {
		b.err = err
	}
	b.mu.Unlock()
	return err
}

// Close stops the periodic writes, writes out what is left, and makes
// later writes go to the underlying writer at once.
func (b *Writer) Close() error {
	b.once.Do(func() {
		select {
		case <-b.done: // never batched: nothing runs
		default:
			close(b.stop)
			<-b.done
		}
	})
	b.out.Lock() // direct writes wait until the rest is out, so order holds
	defer b.out.Unlock()
	b.mu.Lock()
	b.direct = true
	batch, err := b.buf, b.err
	b.buf, b.spare, b.err = nil, nil, nil
	b.mu.Unlock()
	if len(batch) > 0 {
		if _, werr := b.w.Write(batch); werr != nil {
			err = werr
		}
	}
	return err
}
