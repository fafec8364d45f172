//go:build unix

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo runs what 'make demo' runs, testdata/demo.sh, with the folio
// under test, so the README's first command cannot break unseen.
func TestDemo(t *testing.T) {
	t.Parallel()
	needShellTools(t)
	bin := filepath.Join(t.TempDir(), "folio")
	if err := os.Symlink(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "testdata", "demo.sh"), bin)
	cmd.Env = append(os.Environ(), runAsFolio+"=1", "TMPDIR="+t.TempDir(), "HOME="+t.TempDir(),
		"FOLIO_TOKEN=", "FOLIO_DIR=", "FOLIO_AUTHOR_NAME=", "FOLIO_AUTHOR_EMAIL=", "FOLIO_AUTHOR_DATE=")
	endWithGroup(t, cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make demo's script fails: %v\n%s", err, out)
	}
	for _, want := range []string{"demo: ok", "1 conflict(s) recorded", `{"city": "Osaka"}`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
}
