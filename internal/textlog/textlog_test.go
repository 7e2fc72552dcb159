package textlog_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/textlog"
)

// lineOf writes one record through h and returns what it wrote.
func lineOf(t testing.TB, newHandler func(*bytes.Buffer) slog.Handler, at time.Time, level slog.Level, msg string, attrs ...slog.Attr) string {
	var buf bytes.Buffer
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	if err := newHandler(&buf).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func std(b *bytes.Buffer) slog.Handler  { return slog.NewTextHandler(b, nil) }
func fast(b *bytes.Buffer) slog.Handler { return textlog.New(b) }

// same fails t when the two handlers write different lines for a record,
// or, for a record of strings, when WriteStrings writes another line.
func same(t testing.TB, at time.Time, level slog.Level, msg string, attrs ...slog.Attr) {
	t.Helper()
	want := lineOf(t, std, at, level, msg, attrs...)
	got := lineOf(t, fast, at, level, msg, attrs...)
	if got != want {
		t.Fatalf("textlog wrote\n%q\nslog wrote\n%q", got, want)
	}
	var kv []string
	for _, a := range attrs {
		if a.Value.Kind() != slog.KindString || a.Key == "" {
			return
		}
		kv = append(kv, a.Key, a.Value.String())
	}
	var buf bytes.Buffer
	if ok, err := textlog.WriteStrings(textlog.New(&buf), at, level, msg, kv); !ok || err != nil {
		t.Fatalf("WriteStrings refused %q: %v", kv, err)
	}
	if buf.String() != want {
		t.Fatalf("WriteStrings wrote\n%q\nslog wrote\n%q", buf.String(), want)
	}
}

// The audit records the server writes, and the bytes slog quotes, are
// written byte for byte as slog's TextHandler writes them.
func TestSameAsSlog(t *testing.T) {
	at := time.Date(2026, 12, 3, 15, 51, 45, 574_999_999, time.UTC)
	for _, s := range []string{"", "admin", "admin@internal", "a b", "a=b", `a"b`, `a\b`, "a\tb", "\x00", "\x7f", "é", "\u00a0", "\u2028", "\xff", "日本", "-", "127.0.0.1:54408", "/xcatws/nodes"} {
		same(t, at, slog.LevelInfo, "auth", slog.String("outcome", "allow"), slog.String("user", s), slog.Int("repeats", 3), slog.String(s+"k", s))
	}
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelError + 2} {
		same(t, at, level, "auth")
	}
	same(t, time.Time{}, slog.LevelInfo, "no time")
	same(t, at.In(time.FixedZone("x", 5*3600+1800)), slog.LevelInfo, "zone")
	same(t, at, slog.LevelInfo, "other kinds go to slog", slog.Bool("b", true), slog.Duration("d", time.Second), slog.Group("g", slog.String("a", "b")))
	same(t, at, slog.LevelInfo, "auth", auditAttrs...)
}

// WriteStrings writes only through textlog's own handler, and only what it
// can write as Handle does.
func TestWriteStringsRefuses(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		h  slog.Handler
		kv []string
	}{{slog.NewTextHandler(&buf, nil), []string{"k", "v"}}, {textlog.New(&buf), []string{"k"}}, {textlog.New(&buf), []string{"", "v"}},
		{textlog.New(&buf).WithAttrs([]slog.Attr{slog.String("a", "b")}), []string{"k", "v"}}} {
		if ok, _ := textlog.WriteStrings(c.h, time.Now(), slog.LevelInfo, "m", c.kv); ok {
			t.Errorf("WriteStrings(%T, %q) wrote", c.h, c.kv)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q", buf.String())
	}
}

// WithAttrs and WithGroup are slog's own.
func TestWithAttrs(t *testing.T) {
	var a, b bytes.Buffer
	slog.New(textlog.New(&a)).With("k", "v").WithGroup("g").Info("m", "x", 1)
	slog.New(slog.NewTextHandler(&b, nil)).With("k", "v").WithGroup("g").Info("m", "x", 1)
	if a.String()[len("time=2026-12-03T15:51:45.574Z"):] != b.String()[len("time=2026-12-03T15:51:45.574Z"):] {
		t.Fatalf("%q\n%q", a.String(), b.String())
	}
}

// FuzzSameAsSlog: any message, key and value, any time and level.
func FuzzSameAsSlog(f *testing.F) {
	f.Add("auth", "user", "admin", int64(1764777105574999999), 0, int64(-3))
	f.Add("", "", "", int64(0), 8, int64(0))
	f.Add("a b", "k=", "\xffé\u2028", int64(-62135596800000000), -4, int64(1<<62))
	f.Fuzz(func(t *testing.T, msg, key, value string, nanos int64, level int, n int64) {
		at := time.Unix(0, nanos).UTC()
		same(t, at, slog.Level(level), msg, slog.String(key, value), slog.Int64("n", n))
		same(t, at, slog.Level(level), msg, slog.String(key, value), slog.String("n", msg))
	})
}

// auditAttrs are an audit line's attributes, as internal/audit writes them.
var auditAttrs = []slog.Attr{slog.String("outcome", "allow"), slog.String("scheme", "basic"), slog.String("user", "wsuser"), slog.String("reason", ""),
	slog.String("remote", "127.0.0.1:54408"), slog.String("method", "GET"), slog.String("path", "/xcatws/nodes")}

// BenchmarkAuditLine: an audit line through slog.Logger.LogAttrs
// ("logger", which asks the runtime for its caller) and as internal/audit
// writes it ("record", a Record handed to the handler), with slog's text
// handler and with textlog's.
func BenchmarkAuditLine(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{{"slog", slog.NewTextHandler(discard{}, nil)}, {"textlog", textlog.New(discard{})}} {
		l := slog.New(c.h)
		b.Run(c.name+"/logger", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "auth", auditAttrs...)
			}
		})
		b.Run(c.name+"/record", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "auth", 0)
				r.AddAttrs(auditAttrs...)
				_ = c.h.Handle(ctx, r)
			}
		})
	}
	h := textlog.New(discard{})
	var kv []string
	for _, a := range auditAttrs {
		kv = append(kv, a.Key, a.Value.String())
	}
	b.Run("textlog/strings", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = textlog.WriteStrings(h, time.Now(), slog.LevelInfo, "auth", kv)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
