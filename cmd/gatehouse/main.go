// Command gatehouse manages a gatehouse deployment's users, policy, tokens
// and certificates, and runs the reference server that serves the xCAT,
// Satellite, oVirt and Flocker API faces over them.
//
//	go run ./cmd/gatehouse serve --demo        # first start: demo users, printed curl lines
//	gatehouse user add alice --password-stdin < pw.txt
//	gatehouse token create alice --name ci --days 30
//	gatehouse ca issue-client alice --out ./certs
//
// Everything lives in the data directory (--data, env GATEHOUSE_DATA,
// default ./gatehouse-data): the SQLite database, the token hash key, the
// cluster CA and the server certificate. --db postgres://… keeps the
// records in PostgreSQL instead. The server and the CLI share the store:
// what the CLI changes takes effect on the server's next request.
//
// Secrets (passwords, hashes) are read from standard input, never from the
// command line. Errors go to standard error with exit status 1, usage
// errors with status 2.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/preset"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

// errUsage marks an error in how the command was called (exit status 2).
var errUsage = errors.New("usage")

// usageError reports a mistake in the command line.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// env is what every verb works with: the global options and the process's
// streams (tests run verbs in-process with their own).
type env struct {
	data   string // data directory
	db     string // PostgreSQL URL; empty = SQLite in data
	redis  string // Redis address for sessions, nonces and counters; empty = the database
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stop, when set, ends serve (tests; signals otherwise).
	stop <-chan struct{}
	in   *bufio.Reader
	// readOnly: the verb only reads, so a data directory without a store
	// is an error (a wrong --data or working directory), never a new store.
	readOnly bool
	// serving: the verb is serve, which starts while PostgreSQL is down.
	serving bool
}

// verb is one command: its name path ("user add"), a line of help and
// what it does with its arguments.
type verb struct {
	name string
	args string
	help string
	// readOnly verbs refuse a data directory that holds no store.
	readOnly bool
	run      func(e *env, args []string) error
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(run(e, os.Args[1:]))
}

// run executes one command line and returns the exit status.
func run(e *env, args []string) int {
	e.in = bufio.NewReader(e.stdin)
	global := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	global.SetOutput(e.stderr)
	e.data = os.Getenv("GATEHOUSE_DATA")
	if e.data == "" {
		e.data = "gatehouse-data"
	}
	e.db, e.redis = os.Getenv("GATEHOUSE_DB"), os.Getenv("GATEHOUSE_REDIS")
	addGlobalFlags(global, e)
	global.Usage = func() { printUsage(e.stderr) }
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := global.Args()
	v, n := findVerb(rest)
	if v == nil {
		if len(rest) > 0 && printGroup(e.stderr, rest[0]) {
			return 2
		}
		if len(rest) > 0 {
			fmt.Fprintf(e.stderr, "gatehouse: unknown command %q\n\n", strings.Join(rest, " "))
		}
		printUsage(e.stderr)
		return 2
	}
	e.readOnly = v.readOnly
	err := v.run(e, rest[n:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "gatehouse %s: %v\nusage: gatehouse %s %s\n", v.name, err, v.name, v.args)
		return 2
	default:
		fmt.Fprintf(e.stderr, "gatehouse %s: %v\n", v.name, err)
		return 1
	}
}

// addGlobalFlags registers the options every verb accepts.
func addGlobalFlags(fs *flag.FlagSet, e *env) {
	fs.StringVar(&e.data, "data", e.data, "data `dir`ectory: SQLite database, token key, CA, server certificate (env GATEHOUSE_DATA)")
	fs.StringVar(&e.db, "db", e.db, "PostgreSQL `url` to keep the records in instead of SQLite (env GATEHOUSE_DB)")
	fs.StringVar(&e.redis, "redis", e.redis, "Redis `address` (host:port or redis://…) for sessions, OAuth 1 nonces and throttle counters (env GATEHOUSE_REDIS)")
}

func findVerb(args []string) (*verb, int) {
	for i := range verbs {
		words := strings.Fields(verbs[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == verbs[i].name {
			return &verbs[i], len(words)
		}
	}
	return nil, 0
}

// printGroup lists the verbs that start with word ("gatehouse user" lists
// user add, user passwd, …); false when there are none.
func printGroup(w io.Writer, word string) bool {
	var group []verb
	for _, v := range verbs {
		if first, _, _ := strings.Cut(v.name, " "); first == word && strings.Contains(v.name, " ") {
			group = append(group, v)
		}
	}
	if len(group) == 0 {
		return false
	}
	fmt.Fprintf(w, "usage: gatehouse %s COMMAND …\n\ncommands:\n", word)
	for _, v := range group {
		fmt.Fprintf(w, "  %-22s %s\n", v.name, v.help)
	}
	fmt.Fprintf(w, "\ngatehouse %s COMMAND -h shows a command's flags.\n", word)
	return true
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: gatehouse [--data DIR] [--db URL] [--redis ADDR] COMMAND …\n\ncommands:\n")
	for _, v := range verbs {
		fmt.Fprintf(w, "  %-22s %s\n", v.name, v.help)
	}
	fmt.Fprintf(w, "\nEvery command takes -h. Secrets are read from standard input.\n")
}

// parse parses a verb's flags, which may come before, between or after its
// positional arguments, and checks how many positional arguments it got.
func parse(e *env, v string, args []string, define func(fs *flag.FlagSet), min, max int) ([]string, error) {
	fs := flag.NewFlagSet("gatehouse "+v, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	// The verb's own flags, for its -h; the global ones are accepted too,
	// and listed by gatehouse -h.
	own := flag.NewFlagSet("gatehouse "+v, flag.ContinueOnError)
	own.SetOutput(e.stderr)
	if define != nil {
		define(own)
	}
	fs.Usage = func() {
		if vb, _ := findVerb(strings.Fields(v)); vb != nil {
			fmt.Fprintf(e.stderr, "usage: gatehouse %s %s\n%s\n", vb.name, vb.args, vb.help)
		}
		if hasFlags(own) {
			fmt.Fprintln(e.stderr, "\nflags:")
			own.PrintDefaults()
		}
		fmt.Fprintln(e.stderr, "\n(--data, --db and --redis as for every command: gatehouse -h)")
	}
	addGlobalFlags(fs, e)
	own.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, usageError("wrong number of arguments")
	}
	return pos, nil
}

// hasFlags reports whether fs defines any flag.
func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// stdinHasData reports whether standard input holds something to read. A
// terminal is never read (that would wait for typing); a pipe or a file is
// peeked at, and whatever is there stays for the next read.
func (e *env) stdinHasData() bool {
	if f, ok := e.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
			return false
		}
	}
	b, err := e.in.Peek(1)
	return err == nil && len(b) > 0
}

// readSecret reads one line from standard input, without its line end.
func (e *env) readSecret(what string) (string, error) {
	line, err := e.in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading %s from standard input: %w", what, err)
	}
	s := strings.TrimRight(line, "\r\n")
	if s == "" {
		return "", fmt.Errorf("empty %s on standard input", what)
	}
	return s, nil
}

// openStore opens the records: PostgreSQL when --db is set, else the
// SQLite database in the data directory (created with it).
func (e *env) openStore(ctx context.Context) (sqlstore.Store, error) {
	if e.db != "" {
		// serve starts while PostgreSQL is down (503 until it answers); a
		// verb wants the answer now.
		return sqlstore.Open(ctx, sqlstore.Config{PostgresDSN: e.db, Lazy: e.serving})
	}
	db := filepath.Join(e.data, "gatehouse.db")
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		abs, _ := filepath.Abs(e.data)
		if e.readOnly {
			return nil, fmt.Errorf("no gatehouse store in %s: name the data directory with --data or GATEHOUSE_DATA (or --db for PostgreSQL)", abs)
		}
		fmt.Fprintf(e.stderr, "gatehouse: created a new, empty store in %s\n", abs)
	}
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		return nil, err
	}
	return sqlstore.Open(ctx, sqlstore.Config{SQLitePath: db})
}

// tokenKey returns the key tokens are hashed under, made on first use and
// kept in the data directory: without it no stored token can be checked.
func (e *env) tokenKey() ([]byte, error) {
	p := filepath.Join(e.data, "token.key")
	if b, err := os.ReadFile(p); err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("%s is shorter than 32 bytes", p)
		}
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return e.tokenKey() // another process made it first
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// tokens builds the token service the server uses, over s.
func (e *env) tokens(s sqlstore.Store) (*token.Service, error) {
	key, err := e.tokenKey()
	if err != nil {
		return nil, err
	}
	return token.New(token.Config{Store: s, Users: s, HashKey: key, AccessTTL: preset.XCATTokenTTL}), nil
}

// withTokens opens the store and the token service over it for one verb.
func (e *env) withTokens(f func(ctx context.Context, svc *token.Service) error) error {
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		svc, err := e.tokens(s)
		if err != nil {
			return err
		}
		return f(ctx, svc)
	})
}

// caDir is where the cluster CA's cluster.crt and cluster.key live.
func (e *env) caDir() string { return filepath.Join(e.data, "ca") }

// withStore opens the store for one verb and closes it after.
func (e *env) withStore(f func(ctx context.Context, s sqlstore.Store) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return f(ctx, s)
}
