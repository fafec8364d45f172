package text

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchInputs builds a 100,000-line file and two sides with 100 scattered
// one-line edits each, apart from each other so the merge is clean.
func benchInputs() (base, ours, theirs []byte) {
	var b, o, t bytes.Buffer
	for i := range 100_000 {
		var line string
		switch {
		case i%10 == 9:
			line = "}\n"
		case i%7 == 0:
			line = "\n"
		default:
			line = fmt.Sprintf("\tvalue%d := compute(%d, %q)\n", i, i%97, "w")
		}
		b.WriteString(line)
		switch {
		case i%1000 == 100:
			fmt.Fprintf(&o, "\tours edit at %d\n", i)
			t.WriteString(line)
		case i%1000 == 600:
			o.WriteString(line)
			fmt.Fprintf(&t, "\ttheirs edit at %d\n", i)
		default:
			o.WriteString(line)
			t.WriteString(line)
		}
	}
	return b.Bytes(), o.Bytes(), t.Bytes()
}

// BenchmarkMerge: folio's Merge (plus rendering) and git merge-file -p on
// the same inputs, process start included, so the ratio shows in one run.
// Besides wall time each reports cpu-ns/op (user + system CPU time: of
// this process for folio, of the child for git), which a busy machine
// disturbs less.
func BenchmarkMerge(b *testing.B) {
	base, ours, theirs := benchInputs()
	b.Run("folio", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(base)))
		start := cpuTime()
		for b.Loop() {
			r := Merge(base, ours, theirs)
			if r.Conflicts != 0 || len(r.Markers(MarkerOptions{})) == 0 {
				b.Fatal("unexpected merge")
			}
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	})
	b.Run("git", func(b *testing.B) {
		if _, err := exec.LookPath("git"); err != nil {
			b.Skip("git is not on PATH")
		}
		dir := b.TempDir()
		for name, data := range map[string][]byte{"base": base, "ours": ours, "theirs": theirs} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(base)))
		var cpu time.Duration
		for b.Loop() {
			cmd := exec.Command("git", "merge-file", "-p", "ours", "base", "theirs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
			if out, err := cmd.Output(); err != nil || len(out) == 0 {
				b.Fatalf("git merge-file: %v", err)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	})
}

// BenchmarkUnified diffs the 100,000-line file against one side.
func BenchmarkUnified(b *testing.B) {
	base, ours, _ := benchInputs()
	b.ReportAllocs()
	for b.Loop() {
		if len(Unified(base, ours, "a", "b", 3)) == 0 {
			b.Fatal("empty diff")
		}
	}
}
