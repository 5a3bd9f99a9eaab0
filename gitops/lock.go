package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLock is an exclusive flock(2) on a lock file: it serializes goroutines
// and processes alike, and the kernel releases it when its holder dies.
type fileLock struct{ f *os.File }

// lockFile waits until it holds the lock on path (created if missing), or
// until ctx is done.
func lockFile(ctx context.Context, path string) (*fileLock, error) {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		l, err := tryLockFile(path)
		if err != nil || l != nil {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// tryLockFile takes the lock on path if it is free and returns nil, nil if
// another holder has it.
func tryLockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return &fileLock{f: f}, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		f.Close()
		return nil, nil
	default:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
}

// unlock releases the lock. It is safe to call on a nil lock.
func (l *fileLock) unlock() {
	if l != nil {
		l.f.Close() // closing the last descriptor releases the flock
	}
}
