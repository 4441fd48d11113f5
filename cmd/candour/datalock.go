package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockFile is the data folder's lock: every process that opens the folder
// holds a shared lock on it for as long as it is open, and start-up
// recovery needs it exclusively, so recovery never removes a draft or a
// blob that another running process is still writing.
const lockFile = "candour.lock"

// folderLock is a process's hold on the data folder.
type folderLock struct {
	f *os.File
}

// lockFolder opens the data folder's lock and takes it exclusively if no
// other process holds it (alone), or shared, waiting for any process that
// is recovering, if others do.
func lockFolder(dir string) (l *folderLock, alone bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, false, fmt.Errorf("data folder lock: %w", err)
	}
	l = &folderLock{f: f}
	alone, err = l.tryExclusive()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("data folder lock: %w", err)
	}
	if !alone {
		if err := l.shared(); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("data folder lock: %w", err)
		}
	}
	return l, alone, nil
}

// share turns an exclusive hold into a shared one, once recovery is done.
func (l *folderLock) share() error {
	if err := l.shared(); err != nil {
		return fmt.Errorf("data folder lock: %w", err)
	}
	return nil
}

// Close lets the folder go.
func (l *folderLock) Close() error { return l.f.Close() }
