package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedGoTestCommands reads every `go test` command that the
// repository's Markdown tells a reader to run (in code blocks and in
// backquotes) and checks that it still names something: each package path
// is a directory of Go files, and each -run, -bench and -fuzz pattern
// matches a test, benchmark or fuzz target of those packages. A target
// renamed or moved without its docs fails here instead of printing
// "no tests to run" to the next reader.
func TestDocumentedGoTestCommands(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, doc := range markdownFiles(t, root) {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, span := range codeSpans(string(text)) {
			for _, cmd := range shellCommands(span) {
				if len(cmd.args) < 2 || cmd.args[0] != "go" || cmd.args[1] != "test" {
					continue
				}
				checked++
				if msg := checkGoTest(root, cmd); msg != "" {
					t.Errorf("%s: `%s`: %s", rel, strings.Join(cmd.args, " "), msg)
				}
			}
		}
	}
	t.Logf("%d go test commands checked", checked)
	if checked < 5 {
		t.Fatalf("found only %d go test commands in the Markdown: the scanner is broken", checked)
	}
}

// TestDocumentedGoTestCommandsCatchDrift: the check refuses a fuzz target,
// a test and a package that do not exist, and accepts ones that do.
func TestDocumentedGoTestCommandsCatchDrift(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for span, bad := range map[string]bool{
		"go test -run '^$' -fuzz FuzzParseCredentials ./basic/":          true, // the README's old, wrong line
		"go test -run '^$' -fuzz FuzzParseBasic ./internal/creds/":       false,
		"GATEHOUSE_X=1 go test -count=1 -run TestNoSuchTest -v ./oauth1": true,
		"go test ./no/such/package":                                      true,
		"go test -fuzz":                                                  false, // a mention
		"cd bench && go test -run '^$' -bench 'OAuth1/gatehouse$' .":     false,
		"go test -run '^$' -bench Scale ./store/scalebench":              false,
		"go test -race ./... && (cd examples/external && go test ./...)": false,
		"(cd examples/external && go test ./...) && go test ./oauth1":    false, // the cd ends with its subshell
	} {
		var msgs []string
		for _, cmd := range shellCommands(span) {
			if len(cmd.args) >= 2 && cmd.args[0] == "go" && cmd.args[1] == "test" {
				if msg := checkGoTest(root, cmd); msg != "" {
					msgs = append(msgs, msg)
				}
			}
		}
		if got := len(msgs) > 0; got != bad {
			t.Errorf("%q: refused = %v (%v), want %v", span, got, msgs, bad)
		}
	}
}

// markdownFiles are the repository's Markdown files outside testdata,
// hidden directories and node_modules.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	fenced = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	inline = regexp.MustCompile("`([^`]+)`")
)

// codeSpans are the fenced code blocks' lines and the inline code spans
// (which may wrap over a line break) of a Markdown text.
func codeSpans(text string) []string {
	var spans []string
	for _, m := range fenced.FindAllStringSubmatch(text, -1) {
		spans = append(spans, strings.Split(m[1], "\n")...)
	}
	for _, m := range inline.FindAllStringSubmatch(fenced.ReplaceAllString(text, ""), -1) {
		spans = append(spans, strings.ReplaceAll(m[1], "\n", " "))
	}
	return spans
}

// command is one simple shell command: its words, without leading
// variable assignments, and the directory a preceding `cd` moved to.
type command struct {
	dir  string
	args []string
}

// shellCommands splits a line of shell into its simple commands (at &&,
// ||, ;, | and parentheses), dropping a # comment and unquoting words
// ('…' and "…"). A `cd DIR` sets the directory of the commands after it,
// up to the end of its subshell.
func shellCommands(line string) []command {
	var (
		cmds  []command
		cur   command
		word  strings.Builder
		have  bool
		dir   string
		outer []string // the directories of the enclosing subshells
	)
	flushWord := func() {
		if have {
			cur.args = append(cur.args, word.String())
		}
		word.Reset()
		have = false
	}
	flushCmd := func() {
		flushWord()
		for len(cur.args) > 0 && strings.Contains(cur.args[0], "=") && !strings.HasPrefix(cur.args[0], "-") {
			cur.args = cur.args[1:] // VAR=value
		}
		if len(cur.args) == 2 && cur.args[0] == "cd" {
			dir = filepath.Join(dir, cur.args[1])
		} else if len(cur.args) > 0 {
			cur.dir = dir
			cmds = append(cmds, cur)
		}
		cur = command{}
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\'' || c == '"':
			end := strings.IndexByte(line[i+1:], c)
			if end < 0 {
				end = len(line) - i - 1
			}
			word.WriteString(line[i+1 : i+1+end])
			have = true
			i += end + 1
		case c == ' ' || c == '\t':
			flushWord()
		case c == '#' && !have:
			flushCmd()
			return cmds
		case c == '(':
			flushCmd()
			outer = append(outer, dir)
		case c == ')':
			flushCmd()
			if n := len(outer); n > 0 { // a subshell's cd ends with it
				dir, outer = outer[n-1], outer[:n-1]
			}
		case c == '&' || c == '|' || c == ';':
			flushCmd()
		default:
			word.WriteByte(c)
			have = true
		}
	}
	flushCmd()
	return cmds
}

// checkGoTest checks one `go test` command: "" when every package exists
// and every -run, -bench and -fuzz pattern matches a function of theirs.
func checkGoTest(root string, cmd command) string {
	patterns := map[string]string{} // flag → pattern
	var pkgs []string
	for i := 2; i < len(cmd.args); i++ {
		a := cmd.args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case strings.HasPrefix(a, "-") && (name == "run" || name == "bench" || name == "fuzz"):
			if !hasValue && i+1 < len(cmd.args) {
				i++
				value = cmd.args[i]
			}
			patterns[name] = value
		case strings.HasPrefix(a, "-") && !hasValue && takesValue[name] && i+1 < len(cmd.args):
			i++
		case strings.HasPrefix(a, "./") || a == ".":
			pkgs = append(pkgs, a)
		}
	}
	if len(pkgs) == 0 {
		if cmd.dir == "" {
			return "" // a mention (`go test -fuzz`), not a command to run
		}
		pkgs = []string{"."}
	}
	var funcs []string
	for _, p := range pkgs {
		dir := filepath.Join(root, cmd.dir, strings.TrimSuffix(p, "..."))
		recursive := strings.HasSuffix(p, "...")
		found, ok := testFuncs(dir, recursive)
		if !ok {
			return "no Go package at " + filepath.Join(cmd.dir, p)
		}
		funcs = append(funcs, found...)
	}
	for flag, pattern := range patterns {
		if pattern == "^$" {
			continue // runs nothing on purpose (benchmarks or fuzzing only)
		}
		first, _, _ := strings.Cut(pattern, "/") // a subtest's parent
		re, err := regexp.Compile(first)
		if err != nil {
			return "-" + flag + " " + pattern + " is not a regular expression"
		}
		prefixes := map[string][]string{"run": {"Test", "Example", "Fuzz"}, "bench": {"Benchmark"}, "fuzz": {"Fuzz"}}[flag]
		matched := false
		for _, f := range funcs {
			for _, pre := range prefixes {
				if strings.HasPrefix(f, pre) && re.MatchString(f) {
					matched = true
				}
			}
		}
		if !matched {
			return "-" + flag + " " + pattern + " matches nothing in " + strings.Join(pkgs, " ")
		}
	}
	return ""
}

// takesValue are go test's flags that take the next word as their value.
var takesValue = map[string]bool{"count": true, "timeout": true, "benchtime": true, "fuzztime": true, "cpu": true,
	"tags": true, "parallel": true, "cpuprofile": true, "memprofile": true, "o": true, "p": true, "shuffle": true, "skip": true}

// testFuncs are the top-level function names in the _test.go files of dir
// (and, recursively, of the directories under it); ok is false when no
// directory there holds a Go file.
func testFuncs(dir string, recursive bool) (names []string, ok bool) {
	fset := token.NewFileSet()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (!recursive || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		ok = true
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		for _, d := range f.Decls {
			if fn, isFunc := d.(*ast.FuncDecl); isFunc && fn.Recv == nil {
				names = append(names, fn.Name.Name)
			}
		}
		return nil
	})
	return names, ok
}
