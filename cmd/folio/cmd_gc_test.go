package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// serve's automatic gc runs every interval until stopped, and not at all
// with an interval of 0 (the off switch).
func TestAutoGCOffSwitch(t *testing.T) {
	t.Parallel()
	var asked atomic.Int32
	names := func() []string { asked.Add(1); return nil }
	log := slog.New(slog.DiscardHandler)
	off := autoGC(context.Background(), log, 0, 0, nil, names)
	time.Sleep(20 * time.Millisecond)
	off()
	if asked.Load() != 0 {
		t.Fatal("--gc-every 0 collected")
	}
	stop := autoGC(context.Background(), log, time.Millisecond, 0, nil, names)
	for asked.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	stop()
	n := asked.Load()
	time.Sleep(20 * time.Millisecond)
	if asked.Load() != n {
		t.Errorf("gc ran after stop")
	}
}
