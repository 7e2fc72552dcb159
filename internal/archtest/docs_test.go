package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	root := repoRoot(t)
	checked := 0
	for _, doc := range markdownDocs(t, root) {
		rel, text := doc.rel, doc.text
		for _, span := range codeSpans(text) {
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
	root := repoRoot(t)
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

// repoRoot is the repository's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// markdownDoc is one Markdown file: its path from root and its text.
type markdownDoc struct{ rel, text string }

// markdownDocs are the repository's Markdown files outside testdata,
// hidden directories and node_modules.
func markdownDocs(t *testing.T, root string) []markdownDoc {
	t.Helper()
	var docs []markdownDoc
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			text, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			docs = append(docs, markdownDoc{rel: rel, text: string(text)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
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

// TestDocumentedIdentifiers checks every `pkg.Name` (and `pkg.Type.Member`)
// that the Markdown's code spans name, where pkg is the name of one of this
// module's packages: Name must be an exported declaration of that package,
// and Member a field or method of the type Name. A rename without its docs
// fails here. A name qualified by an import path (golang.org/x/oauth2.Config)
// is another module's and is not checked.
func TestDocumentedIdentifiers(t *testing.T) {
	root := repoRoot(t)
	pkgs := moduleDecls(t, root)
	checked := 0
	for _, doc := range markdownDocs(t, root) {
		rel, text := doc.rel, doc.text
		for _, span := range codeSpans(text) {
			for _, m := range qualified.FindAllStringSubmatch(span, -1) {
				decls, ours := pkgs[m[1]]
				if !ours {
					continue
				}
				checked++
				members, ok := decls[m[2]]
				switch {
				case !ok:
					t.Errorf("%s: `%s`: package %s declares no %s", rel, m[0], m[1], m[2])
				case m[3] != "" && members != nil && !members[m[3]] && !members[promotes]:
					t.Errorf("%s: `%s`: %s.%s has no field or method %s", rel, m[0], m[1], m[2], m[3])
				}
			}
		}
	}
	t.Logf("%d identifiers checked", checked)
	if checked < 50 {
		t.Fatalf("found only %d identifiers of this module in the Markdown: the scanner is broken", checked)
	}
}

// promotes marks a type with an embedded field, whose promoted fields and
// methods the check does not follow.
const promotes = "(embeds)"

// qualified matches pkg.Name and pkg.Name.Member, not preceded by an import
// path or another selector.
var qualified = regexp.MustCompile(`(?:^|[^\w/.])([a-z][a-z0-9]*)\.([A-Z]\w*)(?:\.([A-Z]\w*))?`)

// moduleDecls maps each package name of the module (outside testdata and
// main packages) to its exported declarations; a type's entry holds its
// fields and methods, others' are nil. Packages that share a name share an
// entry.
func moduleDecls(t *testing.T, root string) map[string]map[string]map[string]bool {
	t.Helper()
	pkgs := map[string]map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil || f.Name.Name == "main" {
			return nil
		}
		decls := pkgs[f.Name.Name]
		if decls == nil {
			decls = map[string]map[string]bool{}
			pkgs[f.Name.Name] = decls
		}
		members := func(typ string) map[string]bool {
			if decls[typ] == nil {
				decls[typ] = map[string]bool{}
			}
			return decls[typ]
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					if d.Name.IsExported() {
						if _, seen := decls[d.Name.Name]; !seen {
							decls[d.Name.Name] = nil
						}
					}
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if ix, ok := recv.(*ast.IndexExpr); ok { // a generic type's method
					recv = ix.X
				}
				if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
					members(id.Name)[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						m := members(s.Name.Name)
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, field := range st.Fields.List {
								for _, n := range field.Names {
									m[n.Name] = true
								}
								if len(field.Names) == 0 { // embedded: its name, and its members are not checked
									m[embeddedName(field.Type)] = true
									m[promotes] = true
								}
							}
						}
						if it, ok := s.Type.(*ast.InterfaceType); ok {
							for _, method := range it.Methods.List {
								for _, n := range method.Names {
									m[n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if _, seen := decls[n.Name]; n.IsExported() && !seen {
								decls[n.Name] = nil
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// embeddedName is the name an embedded field is known by.
func embeddedName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return embeddedName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// TestDocumentedTestNames: every test, fuzz target and benchmark that the
// Markdown names exists, and one cited as "pkg/path TestName" (SECURITY.md's
// evidence column) is in that package.
func TestDocumentedTestNames(t *testing.T) {
	root := repoRoot(t)
	where := map[string][]string{} // name → directories (relative to root) declaring it
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			dir, _ := filepath.Rel(root, filepath.Dir(p))
			names, _ := testFuncs(filepath.Dir(p), false)
			for _, n := range names {
				if !slices.Contains(where[n], dir) {
					where[n] = append(where[n], dir)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, doc := range markdownDocs(t, root) {
		rel, text := doc.rel, doc.text
		for _, m := range testName.FindAllStringSubmatch(text, -1) {
			checked++
			if where[m[1]] == nil {
				t.Errorf("%s: %s: no such test, fuzz target or benchmark", rel, m[1])
			}
		}
		for _, span := range codeSpans(text) {
			for _, m := range citedTest.FindAllStringSubmatch(span, -1) {
				dirs := where[m[2]]
				if dirs != nil && !slices.ContainsFunc(dirs, func(d string) bool { return d == m[1] || strings.HasSuffix(d, "/"+m[1]) }) {
					t.Errorf("%s: `%s %s`: it is in %s", rel, m[1], m[2], strings.Join(dirs, ", "))
				}
			}
		}
	}
	t.Logf("%d test names checked", checked)
	if checked < 50 {
		t.Fatalf("found only %d test names in the Markdown: the scanner is broken", checked)
	}
}

var (
	testName  = regexp.MustCompile(`\b((?:Test|Fuzz|Benchmark)[A-Z]\w*)`)
	citedTest = regexp.MustCompile(`(?:^|\s)([a-z][\w/]*) ((?:Test|Fuzz|Benchmark)[A-Z]\w*)`)
)
