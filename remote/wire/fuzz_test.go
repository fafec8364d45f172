package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// FuzzPackReader feeds arbitrary bytes to a reader with small limits: it
// must not panic or allocate past its limits, every object it returns must
// verify, and any error but io.EOF must be one of a bad pack's.
func FuzzPackReader(f *testing.F) {
	objs := sampleObjects(12)
	good := writePack(f, wire.WriterOptions{}, objs)
	f.Add(good)
	f.Add(writePack(f, wire.WriterOptions{}, nil))
	f.Add(writePack(f, wire.WriterOptions{Level: wire.LevelBetter}, objs[:5]))
	f.Add(frame(compress(f, records(objs[:4])), 7, 4))
	f.Add(rawPack(f, records(objs[:2]), 3))
	f.Add(good[:len(good)/2])
	f.Add(append(packHeader(), 0, 0, 0, 0, 0, 0))
	f.Add([]byte("FOLIOPK"))

	limits := wire.Limits{MaxObjectSize: 1 << 20, MaxObjects: 1000, MaxBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, pack []byte) {
		pr := wire.NewPackReader(bytes.NewReader(pack), limits)
		for {
			obj, err := pr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !isPackError(err) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				if _, again := pr.Next(); !errors.Is(again, err) {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				return
			}
			if err := objects.Verify(obj.ID, obj.Data); err != nil {
				t.Fatalf("returned an object that does not verify: %v", err)
			}
		}
	})
}
