package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output in testdata/script files")

// TestMain lets the test binary double as the folio command, so scripts run
// the real CLI code in real processes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"folio": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script (category_detail.txtar).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("..", "..", "testdata", "script"),
		UpdateScripts: *updateScripts,
		Setup: func(env *testscript.Env) error {
			// Reproducible commits and a private global config per script.
			env.Setenv("FOLIO_AUTHOR_NAME", "Ada Lovelace")
			env.Setenv("FOLIO_AUTHOR_EMAIL", "ada@example.com")
			env.Setenv("FOLIO_AUTHOR_DATE", "2026-01-02T15:04:05+01:00")
			env.Setenv("FOLIO_CONFIG_GLOBAL", filepath.Join(env.WorkDir, ".folio-global.json"))
			env.Setenv("FOLIO_LOCK_WAIT", "200ms")
			return nil
		},
	})
}
