// Package textlog is a slog.Handler that writes exactly what
// slog.NewTextHandler(w, nil) writes, at a fraction of its cost, for the
// records an audit log is made of: a message and flat string and integer
// attributes. Anything else (groups, WithAttrs, other kinds of value) is
// handed to a slog.TextHandler on the same writer, so the output never
// differs. The reference server writes one audit line per request, and
// slog's general machinery was a tenth of a cached request's cost.
package textlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// New returns a handler writing to w at slog's default level (Info).
func New(w io.Writer) slog.Handler {
	lw := &lockedWriter{w: w}
	return &handler{out: lw, std: slog.NewTextHandler(lw, nil)}
}

// handler formats flat records itself and hands the rest to std.
type handler struct {
	out *lockedWriter
	std slog.Handler
}

// lockedWriter serializes the handler's writes and std's, so that lines
// never interleave whatever w is.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// buffers are reused line buffers.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.std.Enabled(ctx, l) }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler { return h.std.WithAttrs(as) }

func (h *handler) WithGroup(name string) slog.Handler { return h.std.WithGroup(name) }

// Handle writes r as slog's TextHandler does.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	flat := true
	r.Attrs(func(a slog.Attr) bool {
		k := a.Value.Kind()
		flat = a.Key != "" && (k == slog.KindString || k == slog.KindInt64)
		return flat
	})
	if !flat {
		return h.std.Handle(ctx, r)
	}
	bp, b := begin(r.Time, r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = append(b, ' ')
		b = appendString(b, a.Key)
		b = append(b, '=')
		if a.Value.Kind() == slog.KindInt64 {
			b = strconv.AppendInt(b, a.Value.Int64(), 10)
		} else {
			b = appendString(b, a.Value.String())
		}
		return true
	})
	return h.end(bp, b)
}

// WriteStrings writes a record whose attributes are all strings (kv holds
// key, value, key, value…) through h, without a slog.Record, when h is
// this package's handler: the same bytes Handle writes for it. For any
// other handler, an odd kv or an empty key it writes nothing and reports
// false, and the caller makes the slog.Record.
func WriteStrings(h slog.Handler, t time.Time, level slog.Level, msg string, kv []string) (bool, error) {
	th, ok := h.(*handler)
	if !ok || len(kv)%2 != 0 {
		return false, nil
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i] == "" {
			return false, nil
		}
	}
	bp, b := begin(t, level, msg)
	for i := 0; i < len(kv); i += 2 {
		b = append(b, ' ')
		b = appendString(b, kv[i])
		b = append(b, '=')
		b = appendString(b, kv[i+1])
	}
	return true, th.end(bp, b)
}

// begin takes a line buffer and writes a line's time, level and message.
func begin(t time.Time, level slog.Level, msg string) (*[]byte, []byte) {
	bp := buffers.Get().(*[]byte)
	b := (*bp)[:0]
	if !t.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, t.Round(0))
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendString(b, level.String())
	b = append(b, " msg="...)
	return bp, appendString(b, msg)
}

// end writes the line b and returns its buffer.
func (h *handler) end(bp *[]byte, b []byte) error {
	b = append(b, '\n')
	_, err := h.out.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		buffers.Put(bp)
	}
	return err
}

// appendRFC3339Millis is RFC 3339 with exactly three digits of fraction,
// as slog writes times. The text of the second around the fraction is
// formatted once per second and zone (formatting was a third of a line).
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	sec := t.Unix()
	_, offset := t.Zone()
	c := lastSecond.Load()
	if c == nil || c.sec != sec || c.offset != offset || c.loc != t.Location() {
		text := t.AppendFormat(nil, "2006-01-02T15:04:05.000Z07:00")
		dot := len("2006-01-02T15:04:05")
		if len(text) < dot+4 || text[dot] != '.' { // a year past 9999: as it comes
			return append(b, text...)
		}
		c = &second{sec: sec, offset: offset, loc: t.Location(), before: text[:dot+1], after: text[dot+4:]}
		lastSecond.Store(c)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, c.before...)
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, c.after...)
}

// second is one second's text, up to its fraction and after it.
type second struct {
	sec           int64
	offset        int
	loc           *time.Location
	before, after []byte
}

// lastSecond is the second last formatted.
var lastSecond atomic.Pointer[second]

// appendString appends s, quoted when slog would quote it.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's rule: empty, a space, '=', '"', an ASCII control
// character (not DEL), or a rune that is invalid, a space or not printable.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
