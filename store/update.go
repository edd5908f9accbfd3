package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Update changes the state file at path under an exclusive lock: it waits
// for the lock (an advisory lock on path+".lock") until ctx is done, loads
// the state, calls f, and atomically replaces the file with the result. If
// f returns an error, the file is not written and the error is returned as
// is. The parent directory is created (mode 0700) if missing; the file is
// written with mode 0600.
func Update(ctx context.Context, path string, f func(*State) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	unlock, err := lock(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	defer unlock()
	st, err := Load(path)
	if err != nil {
		return err
	}
	if err := f(st); err != nil {
		return err
	}
	data, err := encode(st)
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if err := writeFile(path, data); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	return nil
}
