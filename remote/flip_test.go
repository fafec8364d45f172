package remote_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
)

// flipProxy relays TCP connections to a server and flips one byte of what
// the server sends: the byte at offset from the start of the first control
// message (`{"head":`, which opens a refs listing and a fetch's refs).
type flipProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	offset int
	armed  bool
	flips  int // flips done
}

var controlStart = []byte(`{"head":`)

func newFlipProxy(t *testing.T, target string) *flipProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flipProxy{ln: ln, target: strings.TrimSuffix(strings.TrimPrefix(target, "http://"), "/")}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(conn)
		}
	}()
	return p
}

func (p *flipProxy) url() string { return "http://" + p.ln.Addr().String() + "/" }

// arm flips the byte at offset in the next control message.
func (p *flipProxy) arm(offset int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offset, p.armed = offset, true
}

func (p *flipProxy) flipped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flips
}

func (p *flipProxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		io.Copy(server, client)
		server.Close()
	}()
	var seen []byte // the stream from the server so far, until the flip
	target := -1    // where in it to flip
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		chunk := buf[:n]
		if seen != nil || target < 0 {
			start := len(seen)
			seen = append(seen, chunk...)
			p.mu.Lock()
			if target < 0 && p.armed {
				if i := bytes.Index(seen, controlStart); i >= 0 {
					target, p.armed = i+p.offset, false
				}
			}
			if target >= start && target < len(seen) {
				chunk[target-start] ^= 0x01
				p.flips++
				seen = nil
			}
			p.mu.Unlock()
		}
		if _, werr := client.Write(chunk); werr != nil || err != nil {
			return
		}
	}
}

// A byte flipped anywhere in the refs a server sends (a fetch's refs frame,
// a refs listing before a push) never creates or moves a ref to something
// the server did not send: the sync or push fails, and every ref on either
// side has a name that was there before and points at a stored commit.
func TestFlippedControlBytesCreateNoRef(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, local := newRepo(t), newRepo(t)
	write(t, up, map[string]string{"a": "1"})
	upMain := head(t, up)
	if err := up.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "feature/x", New: upMain},
		objects.RefUpdate{Name: objects.TagPrefix + "v1", New: upMain}); err != nil {
		t.Fatal(err)
	}
	write(t, local, map[string]string{"b": "2"})
	proxy := newFlipProxy(t, serve(t, up, nil))
	rm := remote.Remote{Name: "origin", URL: proxy.url()}

	names := func(r *repo.Repo) map[string]objects.ID {
		refs, err := r.Store().Refs(ctx, "refs/")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]objects.ID{}
		for _, ref := range refs {
			out[ref.Name] = ref.ID
		}
		return out
	}
	upBefore, localBefore := names(up), names(local)
	// The frame of a fetch is about 300 bytes: flip each of them, in the
	// frame of a sync's fetch and in the refs listing of a push.
	for offset := 0; offset < 320; offset++ {
		for _, op := range []string{"sync", "push"} {
			proxy.arm(offset)
			before := proxy.flipped()
			var err error
			if op == "sync" {
				_, err = remote.Sync(ctx, local, rm, remote.SyncOptions{Attempts: 1})
			} else {
				_, err = remote.Push(ctx, local, rm, []string{main}, remote.PushOptions{})
			}
			if proxy.flipped() == before {
				proxy.arm(-1 << 30) // past the end of the message: disarm
				continue
			}
			if err == nil {
				t.Fatalf("%s with byte %d of the refs flipped succeeded", op, offset)
			}
			for side, r := range map[string]*repo.Repo{"local": local, "server": up} {
				want := localBefore
				if side == "server" {
					want = upBefore
				}
				got := names(r)
				if len(got) != len(want) {
					t.Fatalf("%s, byte %d flipped: the %s refs went from %v to %v (%v)", op, offset, side, want, got, err)
				}
				for name, id := range got {
					if want[name] != id {
						t.Fatalf("%s, byte %d flipped: the %s has %s at %s (%v)", op, offset, side, name, id.Short(), err)
					}
				}
			}
		}
	}
	if proxy.flipped() < 300 {
		t.Fatalf("only %d flips landed in control messages", proxy.flipped())
	}
}

// A clone of a repository whose default branch has no commits, while
// other branches have, checks out one that exists (main, else the first by
// name) and says so, instead of ending on an empty branch.
func TestCloneWhenTheDefaultBranchIsEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		branches []string
		want     string
	}{
		{[]string{"main", "zeta"}, "main"},
		{[]string{"zeta", "beta"}, "beta"},
	} {
		up := newRepo(t)
		// The served repository's HEAD: a branch with no commits.
		if err := up.Switch(ctx, "empty", true); err != nil {
			t.Fatal(err)
		}
		write(t, up, map[string]string{"a": "1"})
		id := head(t, up)
		var updates []objects.RefUpdate
		for _, b := range c.branches {
			if b != "main" {
				updates = append(updates, objects.RefUpdate{Name: objects.BranchPrefix + b, New: id})
			}
		}
		if !slices.Contains(c.branches, "main") {
			updates = append(updates, objects.RefUpdate{Name: main, Old: id})
		}
		if err := up.Store().UpdateRefs(ctx, updates...); err != nil {
			t.Fatal(err)
		}
		r, rep, err := remote.Clone(ctx, serve(t, up, nil), filepath.Join(t.TempDir(), "c"), remote.Options{})
		if err != nil {
			t.Fatalf("%v: %v", c.branches, err)
		}
		current, _ := r.CurrentBranch()
		r.Close()
		if rep.Branch != c.want || current != c.want || !strings.Contains(rep.Note, "default branch empty has no commits") {
			t.Fatalf("%v: checked out %q (reported %q, %q), want %q", c.branches, current, rep.Branch, rep.Note, c.want)
		}
	}
}
