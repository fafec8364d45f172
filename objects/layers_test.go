package objects_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// listedPackage is the part of `go list -json` output the layer rules read.
type listedPackage struct {
	ImportPath string
	Imports    []string // imports of the non-test code only
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// layerRule forbids packages under from (a module-relative path, "" for
// every package) from importing imports matching forbidden, except for the
// packages allowed names.
type layerRule struct {
	why       string
	applies   func(rel string) bool
	forbidden func(imp string, rel func(string) (string, bool)) bool
}

func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// isTestSupport reports whether a module-relative package path is a test
// helper package: by Go convention (httptest, iotest, fstest) its name
// ends in "test", like objects/storetest.
func isTestSupport(rel string) bool {
	return strings.HasSuffix(filepath.Base(rel), "test")
}

// layerRules is DESIGN.md's import direction: cmd/folio -> remote -> merge
// -> objects; only the Badger adapter imports Badger; only cmd imports
// cobra; test helpers are imported by tests only.
var layerRules = []layerRule{
	{
		why:     "objects/... must not import merge, remote or cmd (imports point down only)",
		applies: func(rel string) bool { return under(rel, "objects") },
		forbidden: func(imp string, rel func(string) (string, bool)) bool {
			r, ok := rel(imp)
			return ok && (under(r, "merge") || under(r, "remote") || under(r, "cmd"))
		},
	},
	{
		why:     "merge/... must not import remote or cmd (imports point down only)",
		applies: func(rel string) bool { return under(rel, "merge") },
		forbidden: func(imp string, rel func(string) (string, bool)) bool {
			r, ok := rel(imp)
			return ok && (under(r, "remote") || under(r, "cmd"))
		},
	},
	{
		why:     "remote/... must not import cmd (imports point down only)",
		applies: func(rel string) bool { return under(rel, "remote") },
		forbidden: func(imp string, rel func(string) (string, bool)) bool {
			r, ok := rel(imp)
			return ok && under(r, "cmd")
		},
	},
	{
		why:     "only objects/badgerstore imports Badger",
		applies: func(rel string) bool { return rel != "objects/badgerstore" },
		forbidden: func(imp string, _ func(string) (string, bool)) bool {
			return under(imp, "github.com/dgraph-io/badger/v4")
		},
	},
	{
		why:     "only cmd/... imports cobra",
		applies: func(rel string) bool { return !under(rel, "cmd") },
		forbidden: func(imp string, _ func(string) (string, bool)) bool {
			return under(imp, "github.com/spf13/cobra")
		},
	},
	{
		why:     "test helper packages (named *test) are imported by tests and other test helpers only",
		applies: func(rel string) bool { return !isTestSupport(rel) },
		forbidden: func(imp string, rel func(string) (string, bool)) bool {
			r, ok := rel(imp)
			return ok && isTestSupport(r)
		},
	},
}

// layerViolations returns one line per import that breaks a rule, naming
// the package, the import and the rule.
func layerViolations(modPath string, pkgs []listedPackage) []string {
	rel := func(imp string) (string, bool) {
		if imp == modPath {
			return "", true
		}
		r, ok := strings.CutPrefix(imp, modPath+"/")
		return r, ok
	}
	var out []string
	for _, p := range pkgs {
		r, ok := rel(p.ImportPath)
		if !ok {
			continue // a dependency, not ours
		}
		for _, rule := range layerRules {
			if !rule.applies(r) {
				continue
			}
			for _, imp := range p.Imports {
				if rule.forbidden(imp, rel) {
					out = append(out, p.ImportPath+" imports "+imp+": "+rule.why)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// listModule runs `go list -e -json -deps ./...` in the root of the module
// that holds dir and returns the module's own packages. -e keeps going past
// packages that do not build yet; their imports are still listed.
func listModule(t *testing.T, dir string) (modPath string, pkgs []listedPackage) {
	t.Helper()
	goCmd := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	gomod := goCmd("env", "GOMOD")
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("%s is not inside a module", dir)
	}
	root := filepath.Dir(gomod)
	modPath = goCmd("list", "-m", "-f", "{{.Path}}")

	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Module,Error", "-deps", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("parsing go list output: %v", err)
		}
		if p.Module != nil && p.Module.Path == modPath {
			pkgs = append(pkgs, p)
		}
	}
	return modPath, pkgs
}

// TestImportLayers enforces the layering on the module as it is now. New
// packages are covered as they appear; a package that does not build is
// still checked on the imports go list could read, and reported by name.
func TestImportLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the whole module")
	}
	modPath, pkgs := listModule(t, ".")
	if !slices.ContainsFunc(pkgs, func(p listedPackage) bool { return p.ImportPath == modPath+"/objects" }) {
		t.Fatalf("go list did not report %s/objects: the check would see nothing", modPath)
	}
	t.Logf("checked %d packages of %s", len(pkgs), modPath)
	for _, p := range pkgs {
		if p.Error != nil {
			t.Logf("note: %s does not build (%s); checked its readable imports", p.ImportPath, p.Error.Err)
		}
	}
	for _, v := range layerViolations(modPath, pkgs) {
		t.Error(v)
	}
}

// The rule checker itself finds each kind of violation, and only those.
func TestLayerViolationsFindsEachRule(t *testing.T) {
	const mod = "example.com/m"
	pkg := func(path string, imports ...string) listedPackage {
		return listedPackage{ImportPath: path, Imports: imports}
	}
	allowed := []listedPackage{
		pkg(mod+"/objects", "fmt", "github.com/zeebo/blake3"),
		pkg(mod+"/objects/badgerstore", mod+"/objects", "github.com/dgraph-io/badger/v4", "github.com/dgraph-io/badger/v4/options"),
		pkg(mod+"/objects/storetest", mod+"/objects", mod+"/objects/memstore", "testing"),
		pkg(mod+"/objects/prolly/prollytest", mod+"/objects/storetest"),
		pkg(mod+"/merge", mod+"/objects", mod+"/objects/prolly"),
		pkg(mod+"/remote", mod+"/merge", mod+"/objects"),
		pkg(mod+"/remote/wire", mod+"/objects"),
		pkg(mod+"/cmd/folio", mod+"/remote", mod+"/merge", mod+"/objects/badgerstore", "github.com/spf13/cobra"),
		pkg(mod+"/cmd/folio/internal/ui", "github.com/spf13/cobra/doc"),
		pkg(mod+"/objectsextra", mod+"/merge"), // not under objects/
		pkg(mod+"/mergeutil", mod+"/remote"),   // not under merge/
		pkg("other.org/x", mod+"/cmd/folio"),   // not our module
	}
	if v := layerViolations(mod, allowed); len(v) != 0 {
		t.Errorf("allowed imports reported:\n%s", strings.Join(v, "\n"))
	}
	for _, tc := range []struct {
		p    listedPackage
		want string
	}{
		{pkg(mod+"/objects", mod+"/merge"), "objects imports example.com/m/merge"},
		{pkg(mod+"/objects/prolly", mod+"/remote/wire"), "objects/prolly imports example.com/m/remote/wire"},
		{pkg(mod+"/objects/x", mod+"/cmd/folio"), "objects/x imports example.com/m/cmd/folio"},
		{pkg(mod+"/merge", mod+"/remote"), "merge imports example.com/m/remote"},
		{pkg(mod+"/merge/json", mod+"/cmd/folio"), "merge/json imports example.com/m/cmd/folio"},
		{pkg(mod+"/remote/client", mod+"/cmd/folio"), "remote/client imports example.com/m/cmd/folio"},
		{pkg(mod+"/objects", "github.com/dgraph-io/badger/v4"), "only objects/badgerstore imports Badger"},
		{pkg(mod+"/objects/badgerstore/gc", "github.com/dgraph-io/badger/v4/y"), "only objects/badgerstore imports Badger"},
		{pkg(mod+"/cmd/folio", "github.com/dgraph-io/badger/v4"), "only objects/badgerstore imports Badger"},
		{pkg(mod+"/remote", "github.com/spf13/cobra"), "only cmd/... imports cobra"},
		{pkg(mod+"/cmdline", "github.com/spf13/cobra"), "only cmd/... imports cobra"},
		{pkg(mod+"/objects/badgerstore", mod+"/objects/storetest"), "imports example.com/m/objects/storetest: test helper"},
		{pkg(mod+"/cmd/folio", mod+"/remote/remotetest"), "test helper"},
	} {
		v := layerViolations(mod, []listedPackage{tc.p})
		if len(v) != 1 || !strings.Contains(v[0], tc.want) || !strings.HasPrefix(v[0], tc.p.ImportPath+" imports ") {
			t.Errorf("%s importing %v: got %q, want one violation mentioning %q", tc.p.ImportPath, tc.p.Imports, v, tc.want)
		}
	}
}

// The whole pipeline (go list, parsing, rules) on a throwaway module that
// breaks the rules, with packages that do not build among them.
func TestImportLayersOnABadModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                  "module example.com/bad\n\ngo 1.26\n",
		"objects/objects.go":      "package objects\n\nimport _ \"example.com/bad/merge\"\n",
		"objects/objects_test.go": "package objects\n\nimport _ \"example.com/bad/remote\"\n", // tests may
		"merge/merge.go":          "package merge\n\nimport _ \"example.com/bad/objects/storetest\"\n",
		"objects/storetest/s.go":  "package storetest\n",
		"remote/remote.go":        "package remote\n\nimport _ \"example.com/bad/cmd/folio\"\n\nfunc broken( {\n",
		"cmd/folio/main.go":       "package main\n\nimport _ \"example.com/bad/not/there\"\n\nfunc main() {}\n",
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	modPath, pkgs := listModule(t, filepath.Join(dir, "objects"))
	if modPath != "example.com/bad" {
		t.Fatalf("module path %q", modPath)
	}
	got := layerViolations(modPath, pkgs)
	want := []string{
		"example.com/bad/merge imports example.com/bad/objects/storetest: " + layerRules[5].why,
		"example.com/bad/objects imports example.com/bad/merge: " + layerRules[0].why,
		// remote does not compile, but its imports are still read.
		"example.com/bad/remote imports example.com/bad/cmd/folio: " + layerRules[2].why,
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
