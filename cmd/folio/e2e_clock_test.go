package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/wire"
)

// 'folio serve' refuses a push of commits whose commit time is an hour
// ahead of its clock by default (10 minutes), and takes it with
// --max-clock-skew 2h.
func TestServeMaxClockSkew(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	ctx := context.Background()
	for _, tc := range []struct {
		flags   []string
		refused bool
	}{{nil, true}, {[]string{"--max-clock-skew", "2h"}, false}} {
		dir := filepath.Join(t.TempDir(), "served")
		e.must(filepath.Dir(dir), "init", "served")
		s := e.serve(dir, tc.flags...)

		leader, err := repo.Init(ctx, t.TempDir(), "", repo.Options{Store: memstore.New(),
			Clock: func() time.Time { return time.Now().Add(time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := leader.WriteDocumentBytes(ctx, []byte("ahead\n"))
		if err != nil {
			t.Fatal(err)
		}
		main := objects.BranchPrefix + "main"
		if _, err := leader.CommitEdits(ctx, main, []repo.Edit{{Key: "a.txt", Entry: doc}},
			repo.CommitOptions{Message: "m", Author: objects.Signature{Name: "a", Email: "a@b"}}, nil); err != nil {
			t.Fatal(err)
		}
		_, err = remote.Push(ctx, leader, remote.Remote{Name: "s", URL: s.url}, []string{main}, remote.PushOptions{})
		leader.Close()
		switch {
		case tc.refused && (!errors.Is(err, wire.ErrClockAhead) || !strings.Contains(err.Error(), "clock is ahead")):
			t.Errorf("serve %v: push an hour ahead: %v, want a refusal saying the clock is ahead", tc.flags, err)
		case tc.refused && !mainHead(t, s).IsZero():
			t.Errorf("serve %v: the refused push moved main", tc.flags)
		case !tc.refused && err != nil:
			t.Errorf("serve %v: push an hour ahead: %v", tc.flags, err)
		}
		s.stop(t)
	}
}
