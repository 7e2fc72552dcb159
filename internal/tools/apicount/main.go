// Command apicount counts the exported identifiers of gatehouse's library
// packages (issue 33: a smaller surface).
//
// It parses every non-test .go file of the module's importable packages
// and counts, per package, the exported top-level functions, the exported
// methods of exported types, the exported types, and the exported
// constants and variables (each name of a grouped declaration once).
// Struct fields and interface methods are not counted.
//
// Skipped: internal/ packages, examples/, cmd/, bench/, loadtest/,
// interop/, testdata/, directories with their own go.mod, package main,
// and _test.go files.
//
// Run it from anywhere inside the module:
//
//	go run ./internal/tools/apicount           # one line per package, then "total N"
//	go run ./internal/tools/apicount -v        # also every identifier: pkg.Name, pkg.Type.Method
//	go run ./internal/tools/apicount -max 350  # exit 1 when the total exceeds 350
//
// A package is named by its directory relative to the module root.
package main

import (
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// skippedTops are the top-level directories that hold programs, tests and
// examples rather than library packages.
var skippedTops = map[string]bool{
	"examples": true,
	"cmd":      true,
	"bench":    true,
	"loadtest": true,
	"interop":  true,
	"internal": true,
}

func main() {
	verbose := flag.Bool("v", false, "list every exported identifier")
	limit := flag.Int("max", -1, "exit with status 1 when the total exceeds this (negative: no limit)")
	flag.Parse()

	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(2)
	}
	pkgs, err := scan(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(2)
	}

	dirs := make([]string, 0, len(pkgs))
	for dir := range pkgs {
		dirs = append(dirs, dir)
	}
	slices.Sort(dirs)
	total := 0
	for _, dir := range dirs {
		names := pkgs[dir]
		total += len(names)
		fmt.Printf("%-20s %d\n", dir, len(names))
		if *verbose {
			for _, name := range names {
				fmt.Printf("\t%s.%s\n", dir, name)
			}
		}
	}
	fmt.Printf("total %d\n", total)
	if *limit >= 0 && total > *limit {
		fmt.Fprintf(os.Stderr, "apicount: %d exported identifiers, more than the %d allowed\n", total, *limit)
		os.Exit(1)
	}
}

// moduleRoot walks up from the working directory to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above")
		}
		dir = parent
	}
}

// scan returns, for each library package (by its slash-separated directory
// relative to root), its sorted exported identifiers.
func scan(root string) (map[string][]string, error) {
	fset := token.NewFileSet()
	found := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" ||
				name == "internal" || skippedTops[strings.SplitN(rel, "/", 2)[0]] {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "." {
			dir = f.Name.Name
		}
		if found[dir] == nil {
			found[dir] = map[string]bool{}
		}
		for _, name := range exported(f) {
			found[dir][name] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pkgs := map[string][]string{}
	for dir, set := range found {
		names := make([]string, 0, len(set))
		for name := range set {
			names = append(names, name)
		}
		slices.Sort(names)
		pkgs[dir] = names
	}
	return pkgs, nil
}

// exported lists the exported identifiers that one file declares: Name for
// a function, type, constant or variable, Type.Method for a method of an
// exported type.
func exported(f *ast.File) []string {
	var names []string
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			if !decl.Name.IsExported() {
				continue
			}
			if decl.Recv == nil {
				names = append(names, decl.Name.Name)
				continue
			}
			if recv := receiverType(decl.Recv); recv != "" && ast.IsExported(recv) {
				names = append(names, recv+"."+decl.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range decl.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					if spec.Name.IsExported() {
						names = append(names, spec.Name.Name)
					}
				case *ast.ValueSpec:
					for _, id := range spec.Names {
						if id.IsExported() {
							names = append(names, id.Name)
						}
					}
				}
			}
		}
	}
	return names
}

// receiverType names the type of a method's receiver: T for T, *T, T[P]
// and *T[P, Q].
func receiverType(recv *ast.FieldList) string {
	if len(recv.List) == 0 {
		return ""
	}
	expr := recv.List[0].Type
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}
