package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockPoll bounds the wait between attempts to take a held lock.
const lockPoll = 25 * time.Millisecond

// lock takes an exclusive advisory lock on the file at path, creating it,
// retrying until ctx is done. It returns the function that releases it.
// The lock file is never removed: removing it would let two writers lock
// different files of the same name.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	takeDirOwner(f, filepath.Dir(path))
	wait := time.Millisecond
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if held {
			return func() { f.Close() }, nil // closing releases the lock
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s, held by another writer: %w", path, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, lockPoll)
	}
}
