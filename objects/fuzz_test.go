package objects_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/folio-db/folio/objects"
)

// The fuzz targets share one property: a decoder never panics, fails only
// with ErrCorrupt or ErrUnknownFormat, and whenever it succeeds, encoding
// the result gives back exactly the input (each object has one encoding).
// They are seeded with the golden samples and near misses of them.

func addSeeds(f *testing.F, typ objects.Type) {
	for _, data := range sampleBytes(f, typ) {
		f.Add(data)
		f.Add(data[:len(data)-1])
		f.Add(append(bytes.Clone(data), 0))
	}
}

func checkDecoded(t *testing.T, data []byte, value any, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, objects.ErrCorrupt) && !errors.Is(err, objects.ErrUnknownFormat) {
			t.Fatalf("error %v is neither ErrCorrupt nor ErrUnknownFormat", err)
		}
		return
	}
	obj := encodeValue(t, value)
	if !bytes.Equal(obj.Data, data) {
		t.Fatalf("re-encoding changed the bytes:\n  in %x\n out %x", data, obj.Data)
	}
	if err := objects.Verify(obj.ID, data); err != nil {
		t.Fatalf("decoded, but Verify says %v", err)
	}
}

func FuzzDecodeNode(f *testing.F) {
	addSeeds(f, objects.TypeNode)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := objects.DecodeNode(data)
		checkDecoded(t, data, n, err)
		if err == nil {
			for i, it := range n.Items {
				if objects.ValidateKey(it.Key) != nil || it.Entry.ID.IsZero() || (i > 0 && n.Items[i-1].Key >= it.Key) ||
					(n.Level > 0 && it.Entry.Size == 0) {
					t.Fatalf("accepted item %d: %+v", i, it)
				}
			}
		}
	})
}

func FuzzDecodeCommit(f *testing.F) {
	addSeeds(f, objects.TypeCommit)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := objects.DecodeCommit(data)
		checkDecoded(t, data, c, err)
		if err == nil && (len(c.Parents) == 0) != (c.Height == 1) {
			t.Fatalf("accepted height %d with %d parents", c.Height, len(c.Parents))
		}
	})
}

func FuzzDecodeConflict(f *testing.F) {
	addSeeds(f, objects.TypeConflict)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := objects.DecodeConflict(data)
		checkDecoded(t, data, c, err)
		if err == nil && objects.ValidateKey(c.Key) != nil {
			t.Fatalf("accepted key %q", c.Key)
		}
		if err == nil {
			for _, e := range []objects.Entry{c.Base, c.Ours, c.Theirs} {
				if e.ID.IsZero() && e != (objects.Entry{}) {
					t.Fatalf("accepted an absent side with fields set: %+v", e)
				}
			}
		}
	})
}

func FuzzDecodeWorkingSet(f *testing.F) {
	addSeeds(f, objects.TypeWorkingSet)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := objects.DecodeWorkingSet(data)
		checkDecoded(t, data, w, err)
	})
}

func FuzzDecodeChunked(f *testing.F) {
	addSeeds(f, objects.TypeChunked)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := objects.DecodeChunked(data)
		checkDecoded(t, data, c, err)
		if err == nil {
			var sum uint64
			for _, ch := range c.Chunks {
				if ch.ID.IsZero() {
					t.Fatal("accepted a zero chunk ID")
				}
				if ch.Size > c.Size-sum {
					t.Fatalf("accepted chunks that add up past the size %d", c.Size)
				}
				sum += ch.Size
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, 0)
	f.Add([]byte{})
	f.Add([]byte{7, 1})
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := objects.Decode(data)
		checkDecoded(t, data, v, err)
		if err == nil {
			if typ, err := objects.TypeOf(data); err != nil || encodeValue(t, v).Data[0] != byte(typ) {
				t.Fatalf("Decode gave a %T for a %v", v, typ)
			}
		}
	})
}
