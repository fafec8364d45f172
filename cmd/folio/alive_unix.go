//go:build unix

package main

import (
	"errors"
	"syscall"
)

// processAlive reports whether process pid exists (signal 0 checks
// without sending; EPERM: it exists, as another user's).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false // kill(0) and kill(-1) name groups
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
