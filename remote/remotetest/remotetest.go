// Package remotetest holds the faulty servers that tests of replication put
// folio's client against. Only tests import it.
package remotetest

import (
	"io"
	"net"
	"testing"
)

// SilentServer accepts connections on 127.0.0.1, reads what is sent and
// never answers: a server that hangs. It returns its base URL, and stops
// when the test ends.
func SilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, conn)
				conn.Close()
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}
