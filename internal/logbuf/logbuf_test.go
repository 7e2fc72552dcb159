package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder counts the writes it gets.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return 0, r.fail
	}
	r.writes++
	return r.buf.Write(p)
}

func (r *recorder) snapshot() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String(), r.writes
}

func TestBatchesAndKeepsOrder(t *testing.T) {
	rec := &recorder{}
	w := New(rec, time.Hour) // only Flush and Close write
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if s, n := rec.snapshot(); n != 0 || s != "" {
		t.Fatalf("written before a flush: %d writes, %q", n, s)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	s, n := rec.snapshot()
	if n != 1 {
		t.Fatalf("100 lines took %d writes, want 1", n)
	}
	for i := range 100 {
		want := fmt.Sprintf("line %d\n", i)
		if !strings.HasPrefix(s, want) {
			t.Fatalf("line %d out of order or missing: %q", i, s[:min(len(s), 40)])
		}
		s = s[len(want):]
	}
	fmt.Fprintln(w, "last")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := rec.snapshot(); !strings.HasSuffix(s, "last\n") {
		t.Fatalf("Close lost the last line: %q", s[max(0, len(s)-20):])
	}
	fmt.Fprintln(w, "after close")
	if s, _ := rec.snapshot(); !strings.HasSuffix(s, "after close\n") {
		t.Fatalf("a write after Close did not go out at once: %q", s[max(0, len(s)-20):])
	}
}

func TestIntervalWritesWithoutFlush(t *testing.T) {
	rec := &recorder{}
	w := New(rec, 5*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "hello")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, _ := rec.snapshot(); s == "hello\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the interval never wrote the line out")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFullBatchGoesOutAtOnce(t *testing.T) {
	rec := &recorder{}
	w := New(rec, time.Hour)
	defer w.Close()
	line := strings.Repeat("x", 1023) + "\n"
	for range MaxBatch / len(line) {
		_, _ = w.Write([]byte(line))
	}
	if s, n := rec.snapshot(); n != 1 || len(s) != MaxBatch {
		t.Fatalf("after %d bytes: %d writes, %d bytes out; want one write of all", MaxBatch, n, len(s))
	}
}

func TestNoInterval(t *testing.T) {
	rec := &recorder{}
	w := New(rec, 0)
	fmt.Fprintln(w, "at once")
	if s, n := rec.snapshot(); n != 1 || s != "at once\n" {
		t.Fatalf("unbatched write: %d writes, %q", n, s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsAreReported(t *testing.T) {
	broken := errors.New("disk full")
	rec := &recorder{fail: broken}
	w := New(rec, time.Hour)
	fmt.Fprintln(w, "lost")
	if err := w.Flush(); !errors.Is(err, broken) {
		t.Fatalf("Flush: %v, want %v", err, broken)
	}
	if _, err := w.Write([]byte("next\n")); !errors.Is(err, broken) {
		t.Fatalf("the next Write did not report the failed batch: %v", err)
	}
	if _, err := w.Write([]byte("again\n")); err != nil {
		t.Fatalf("reported twice: %v", err)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := rec.snapshot(); s != "next\nagain\n" {
		t.Fatalf("after recovery: %q", s)
	}
}

// TestConcurrentRecordsStayWhole: slog records written from many
// goroutines while batches go out are each one whole line.
func TestConcurrentRecordsStayWhole(t *testing.T) {
	rec := &recorder{}
	w := New(rec, time.Millisecond)
	l := slog.New(slog.NewTextHandler(w, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				l.Info("auth", "g", g, "i", i, "pad", strings.Repeat("p", 100))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, n := rec.snapshot()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "time=") || !strings.HasSuffix(line, strings.Repeat("p", 100)) {
			t.Fatalf("torn record: %q", line)
		}
	}
	if n >= len(lines) {
		t.Fatalf("%d writes for %d lines: nothing was batched", n, len(lines))
	}
	t.Logf("%d records in %d writes", len(lines), n)
}

func Example() {
	var out bytes.Buffer
	w := New(&out, 100*time.Millisecond)
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{} // keep the example's output stable
		}
		return a
	}}))
	logger.Info("auth", "outcome", "allow", "user", "wsuser")
	_ = w.Close() // at shutdown: nothing held is lost
	fmt.Print(out.String())
	// Output: level=INFO msg=auth outcome=allow user=wsuser
}
