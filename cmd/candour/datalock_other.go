//go:build !unix

package main

// tryExclusive cannot tell, without flock, whether another process has
// the folder open: it says no, so start-up recovery does not run.
func (l *folderLock) tryExclusive() (bool, error) { return false, nil }

func (l *folderLock) shared() error { return nil }
