// Package damagetest damages a closed Badger store the way a failing disk
// would: it flips one bit of a stored value in place, in the table (.sst)
// or value-log (.vlog) file that holds it. Tests use it to prove that
// reads refuse damaged bytes and that repair restores them. It is imported
// by tests only.
package damagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Flip finds needle in the .sst and .vlog files under dir and flips the
// lowest bit of its middle byte in every copy, in place. It returns the
// files it changed, and fails if no file holds the needle. The store must
// be closed. needle should be incompressible (random text), so that the
// table's compressed blocks hold it as written.
func Flip(dir string, needle []byte) ([]string, error) {
	if len(needle) < 16 {
		return nil, errors.New("damagetest: a needle of at least 16 bytes finds one value only")
	}
	var changed []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".sst") || strings.HasSuffix(path, ".vlog")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found := false
		for off := 0; ; {
			i := bytes.Index(data[off:], needle)
			if i < 0 {
				break
			}
			data[off+i+len(needle)/2] ^= 1
			off += i + len(needle)
			found = true
		}
		if !found {
			return nil
		}
		changed = append(changed, path)
		return os.WriteFile(path, data, 0o644)
	})
	if err == nil && len(changed) == 0 {
		err = fmt.Errorf("damagetest: no .sst or .vlog file under %s holds %.20q...", dir, needle)
	}
	return changed, err
}

// RandomText returns n printable bytes from a seeded generator: content
// that table compression keeps as written, so Flip finds it on disk.
func RandomText(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]byte, n)
	for i := range out {
		out[i] = byte('!' + rng.IntN(94))
	}
	return out
}
