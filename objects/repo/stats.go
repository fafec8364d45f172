package repo

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/folio-db/folio/objects"
)

// Stats counts stored objects by type.
type Stats struct {
	Objects   int                  `json:"objects"`
	Bytes     int64                `json:"bytes"`
	ByType    map[string]TypeStats `json:"by_type"`
	DiskBytes int64                `json:"disk_bytes"` // the whole .folio folder
	Refs      int                  `json:"refs"`
	// Unreachable objects and their bytes: what gc --prune=now would
	// delete (gc with its grace period keeps the recent ones).
	Unreachable      int   `json:"unreachable"`
	ReclaimableBytes int64 `json:"reclaimable_bytes"`
}

// TypeStats counts the objects of one type.
type TypeStats struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
}

// Stats walks every object once (like git count-objects -v).
func (r *Repo) Stats(ctx context.Context) (*Stats, error) {
	if m, ok := r.store.(Maintainer); ok {
		return m.Stats(ctx)
	}
	s := &Stats{ByType: map[string]TypeStats{}}
	err := r.store.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		name := "unknown"
		if t, err := objects.TypeOf(data); err == nil {
			name = t.String()
		}
		ts := s.ByType[name]
		ts.Count++
		ts.Bytes += int64(len(data))
		s.ByType[name] = ts
		s.Objects++
		s.Bytes += int64(len(data))
		return nil
	})
	if err != nil {
		return nil, err
	}
	refs, err := r.store.Refs(ctx, "")
	if err != nil {
		return nil, err
	}
	s.Refs = len(refs)
	if gc, err := r.GC(ctx, GCOptions{DryRun: true}); err == nil {
		s.Unreachable, s.ReclaimableBytes = gc.Deleted, gc.DeletedBytes
	} else if !errors.Is(err, ErrGCUnsupported) && !errors.Is(err, ErrGCDamaged) { // fsck's to report
		return nil, err
	}
	s.DiskBytes, err = DiskUsage(r.dir)
	return s, err
}

// DiskUsage sums the allocated size of the files under dir.
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += allocatedSize(info)
		}
		return nil
	})
	return total, err
}
