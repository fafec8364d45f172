package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// A pack of more objects than Receive lists as arrived for Admit
// (maxArrived) still has everything checked: past the list, Admit asks
// the store what it holds, and does not take what is not listed for
// stored. Here the bad leaf (a reserved key) comes after maxArrived
// other nodes; it fails if Admit takes an unlisted node for stored.
func TestAdmitChecksWhatArrivesPastTheArrivedList(t *testing.T) {
	t.Parallel()
	blob := objects.EncodeBlob([]byte("[core]\n\tfsmonitor = touch pwned\n"))
	objs := []objects.Object{blob}
	for i := range maxArrived {
		objs = append(objs, (&objects.Node{Items: []objects.NodeItem{
			{Key: fmt.Sprintf("junk/%06d", i), Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode())
	}
	leaf := (&objects.Node{Items: []objects.NodeItem{
		{Key: ".git/config", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	c := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	objs = append(objs, leaf, c)
	dst := newRepo(t, true)
	err := admitOnly(t, dst.Store(), c.ID, objs...)
	if !errors.Is(err, objects.ErrInvalidKey) || !strings.Contains(err.Error(), ".git/config") {
		t.Fatalf("a leaf with .git/config past %d other nodes: %v, want ErrInvalidKey naming the key", maxArrived, err)
	}
}

// Receive keeps the stored objects it reads for Admit up to
// maxSharedReadBytes, and reads past it from the store: a receive that
// reads many large stored nodes holds no more than that.
func TestSharedReadsKeepAtMostTheirBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := newRepo(t, true)
	blob := objects.EncodeBlob([]byte("x"))
	var nodes []objects.Object
	for total := 0; total <= 2*maxSharedReadBytes; {
		var items []objects.NodeItem
		for k := range 40 {
			items = append(items, objects.NodeItem{Key: fmt.Sprintf("%06d/%0300d", len(nodes), k),
				Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}})
		}
		n := (&objects.Node{Items: items}).Encode()
		nodes = append(nodes, n)
		total += len(n.Data)
	}
	if err := dst.Store().Put(ctx, append(nodes, blob)...); err != nil {
		t.Fatal(err)
	}
	s := newSharedReads(dst.Store())
	for range 2 {
		for _, n := range nodes {
			data, err := s.Get(ctx, n.ID)
			if err != nil || string(data) != string(n.Data) {
				t.Fatalf("%s: %v, or not its bytes", n.ID.Short(), err)
			}
		}
	}
	if s.bytes > maxSharedReadBytes || s.bytes < maxSharedReadBytes/2 {
		t.Errorf("kept %d bytes of %d nodes read, want at most %d (and most of it)", s.bytes, len(nodes), maxSharedReadBytes)
	}
}
