//go:build unix

package main

import (
	"errors"
	"syscall"
)

// tryExclusive takes the lock exclusively if no one else holds it.
func (l *folderLock) tryExclusive() (bool, error) {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// shared takes (or converts to) a shared hold, waiting while another
// process holds the lock exclusively (it is recovering).
func (l *folderLock) shared() error {
	for {
		err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_SH)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
