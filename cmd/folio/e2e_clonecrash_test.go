package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestCloneKilledLeavesNoRepository kills a folio clone (kill -9) while
// the pack is on its way: the clone's folder must hold no repository, so
// nothing half received can be read or built on, and a new clone works.
func TestCloneKilledLeavesNoRepository(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := t.TempDir()
	up := filepath.Join(root, "up")
	e.must(root, "init", up)
	e.must(up, "import", writeBatch(t, rand.New(rand.NewPCG(testSeed(t), 13)), 64))
	e.must(up, "commit", "-m", "documents")
	srv := e.serve(up)
	proxy := newStallProxy(t, srv.url, 16<<10)

	dir := filepath.Join(root, "clone")
	cmd := e.command(context.Background(), root, nil, "clone", proxy.url(), dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proxy.stalled:
	case <-time.After(processTimeout):
		cmd.Process.Kill()
		t.Fatal("the clone never received 16 KiB")
	}
	cmd.Process.Kill()
	cmd.Wait()

	if _, err := os.Stat(filepath.Join(dir, ".folio")); err == nil {
		t.Error("a killed clone left a repository (.folio) in its folder")
	}
	if res := e.run(dir, "log"); res.code == 0 {
		t.Errorf("folio log in the folder of a killed clone succeeded:\n%v", res)
	}
	again := filepath.Join(root, "again")
	e.must(root, "clone", srv.url, again)
	e.fsckClean(again, "a clone after a killed one")
}

// stallProxy forwards TCP connections to a server, but only the first
// limit bytes of the server's replies: then it holds the connections open
// and closes stalled.
type stallProxy struct {
	ln      net.Listener
	target  string
	limit   int64
	stalled chan struct{}
	once    sync.Once
}

func newStallProxy(t *testing.T, serverURL string, limit int64) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: u.Host, limit: limit, stalled: make(chan struct{})}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			go io.Copy(s, c)
			go func() {
				io.CopyN(c, s, p.limit)
				p.once.Do(func() { close(p.stalled) })
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return p
}

func (p *stallProxy) url() string { return "http://" + p.ln.Addr().String() + "/" }
