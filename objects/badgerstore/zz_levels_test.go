package badgerstore

import (
	"os"
	"testing"
)

func TestZZLevels(t *testing.T) {
	dir := os.Getenv("LEVELS_DIR")
	if dir == "" {
		t.Skip()
	}
	s, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, l := range s.db.Levels() {
		t.Logf("L%d tables %d size %d target %d score %.2f base %v", l.Level, l.NumTables, l.Size, l.TargetSize, l.Score, l.IsBaseLevel)
	}
}
