package badgerstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// The test binary doubles as the second process of the lock, crash and
// memory tests: re-run with helperRole set, TestMain runs one of the
// helpers below instead of the tests.
const (
	helperRole = "BADGERSTORE_HELPER"
	helperDir  = "BADGERSTORE_HELPER_DIR"
	helperWait = "BADGERSTORE_HELPER_LOCKWAIT"
)

var helpers = map[string]func(dir string) error{
	"hold":          holdOpen(false),
	"hold-readonly": holdOpen(true),
	"try-open":      tryOpen,
	"open-readonly": openReadOnly,
	"unclean":       writeAndExitUncleanly,
	"unclean-large": writeLargeAndExitUncleanly,
	"crash-writer":  runCrashWriter,
	"sweeper":       runSweeper,
	"import":        runImport,
	"leaf-load":     runLeafLoad,
	"get-one":       getOne,
	"nothing":       func(string) error { return nil },
}

func TestMain(m *testing.M) {
	if role := os.Getenv(helperRole); role != "" {
		run, ok := helpers[role]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper role %q\n", role)
			os.Exit(2)
		}
		if err := run(os.Getenv(helperDir)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	removeFixtures()
	os.Exit(code)
}

// helperCmd returns a command that runs role on dir in a new process.
func helperCmd(role, dir string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperRole+"="+role, helperDir+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// holder is a helper process that keeps a store open until released.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHolder starts a process that opens dir and holds it open; it
// returns once the store is open.
func startHolder(t *testing.T, dir string, readOnly bool) *holder {
	t.Helper()
	role := "hold"
	if readOnly {
		role = "hold-readonly"
	}
	cmd := helperCmd(role, dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { h.release(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "open\n" {
		h.release(t)
		t.Fatalf("holder process did not open the store: %q, %v, stderr: %s", line, err, stderr.String())
	}
	return h
}

// release makes the holder close the store and exit.
func (h *holder) release(t *testing.T) {
	if h.cmd == nil {
		return
	}
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("holder process: %v", err)
	}
	h.cmd = nil
}

// holdOpen opens the store, says "open", and closes it when stdin ends.
func holdOpen(readOnly bool) func(dir string) error {
	return func(dir string) error {
		s, err := Open(dir, Options{ReadOnly: readOnly})
		if err != nil {
			return err
		}
		fmt.Println("open")
		io.Copy(io.Discard, os.Stdin)
		return s.Close()
	}
}

// tryOpen opens the store read-write once and prints the outcome; a
// failure to open is an outcome, not an error of the helper.
func tryOpen(dir string) error {
	wait, err := time.ParseDuration(os.Getenv(helperWait))
	if err != nil {
		return err
	}
	s, err := Open(dir, Options{LockWait: wait})
	if err != nil {
		fmt.Printf("error locked=%t: %v\n", errors.Is(err, ErrLocked), err)
		return nil
	}
	fmt.Println("opened")
	return s.Close()
}

// openReadOnly opens the store read-only, as most commands do, reads
// the refs, and prints the outcome: "opened", or whether the error is
// objects.ErrCorrupt or ErrUnknownFormat and what it says.
func openReadOnly(dir string) error {
	s, err := Open(dir, Options{ReadOnly: true})
	if err == nil {
		_, err = s.Refs(context.Background(), "")
		s.Close()
	}
	if err != nil {
		fmt.Printf("error corrupt=%t unknown=%t: %v\n", errors.Is(err, objects.ErrCorrupt), errors.Is(err, objects.ErrUnknownFormat), err)
		return nil
	}
	fmt.Println("opened")
	return nil
}

// writeAndExitUncleanly writes to the store and exits without closing it,
// as a process that crashes does.
func writeAndExitUncleanly(dir string) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	o := uncleanObject()
	if err := s.Put(ctx, o); err != nil {
		return err
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: o.ID}); err != nil {
		return err
	}
	os.Exit(0)
	return nil
}

// writeLargeAndExitUncleanly puts largeUncleanObjects in a session with
// the full memtable, which holds them all, and exits without closing: the
// write-ahead log left behind holds more than a short session's memtable.
func writeLargeAndExitUncleanly(dir string) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	if err := s.Put(context.Background(), largeUncleanObjects()...); err != nil {
		return err
	}
	os.Exit(0)
	return nil
}

// largeUncleanObjects are twice shortMemTableSize of objects that stay in
// the LSM tree (each under valueThreshold).
func largeUncleanObjects() []objects.Object {
	var objs []objects.Object
	for i := range 2 * shortMemTableSize / (64 << 10) {
		data := make([]byte, 64<<10)
		copy(data, fmt.Sprintf("large unclean %d", i))
		objs = append(objs, objects.EncodeBlob(data))
	}
	return objs
}

func uncleanObject() objects.Object { return objects.EncodeBlob([]byte("written, never closed")) }

func isNotFound(err error) bool { return errors.Is(err, objects.ErrNotFound) }
