package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects/repo"
)

// TestConfigKeysKnown reads folio's source for the settings it reads (an
// index into a Config named cfg, the key a string, a constant, or made of
// them with names between: "remote." + name + ".peer" is remote.*.peer)
// and checks that each is in repo.KnownConfigKeys, so that setting it
// draws no "not a setting folio reads" warning.
func TestConfigKeysKnown(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	var files []*ast.File
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{} // by name, in any package
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
	}
	// key gives the key an expression makes, '*' for a name in it, and
	// whether any of it is fixed.
	var key func(e ast.Expr) (string, bool)
	key = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			v, ok := consts[e.Name]
			return v, ok
		case *ast.SelectorExpr:
			if v, ok := consts[e.Sel.Name]; ok && strings.Contains(v, ".") {
				return v, true
			}
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				l, lok := key(e.X)
				r, rok := key(e.Y)
				if !lok {
					l = "*"
				}
				if !rok {
					r = "*"
				}
				return l + r, lok || rok
			}
		}
		return "*", false
	}
	read := map[string]string{} // key -> where
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			ix, ok := n.(*ast.IndexExpr)
			if !ok {
				return true
			}
			if id, ok := ix.X.(*ast.Ident); !ok || id.Name != "cfg" {
				return true
			}
			if k, fixed := key(ix.Index); fixed {
				read[k] = fset.Position(ix.Pos()).String()
			}
			return true
		})
	}
	for _, want := range []string{"user.name", "remote.timeout", "remote.*.peer", "sync.branches"} {
		if _, ok := read[want]; !ok {
			t.Errorf("the scan did not find %s read (found %v): it no longer sees how folio reads settings", want, read)
		}
	}
	for k, where := range read {
		if !repo.IsKnownConfigKey(k) {
			t.Errorf("%s reads setting %s, which repo.KnownConfigKeys lacks", where, k)
		}
	}
}
