package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestReadFileInto(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	content := bytes.Repeat([]byte("abc"), 1000)
	os.WriteFile(path, content, 0o644)
	buf := make([]byte, 4000)
	if n, err := readFileInto(path, buf); err != nil || !bytes.Equal(buf[:n], content) {
		t.Errorf("read %d bytes, %v", n, err)
	}
	small := make([]byte, 100)
	if n, err := readFileInto(path, small); err != nil || n != len(small) {
		t.Errorf("a file larger than the buffer: %d bytes, %v; want the buffer full", n, err)
	}
	if _, err := readFileInto(filepath.Join(t.TempDir(), "missing"), buf); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
