package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// MaxLastUsed caps the entries of the last-used file; the oldest are
// dropped beyond it.
const MaxLastUsed = 100_000

// lastUsedLockTimeout bounds how long MergeLastUsed waits for the lock,
// which Update holds only for a moment.
const lastUsedLockTimeout = 5 * time.Second

// LastUsedPath is the file where the last-use times of the keys of the
// state file at path are kept: a JSON object of key id to RFC 3339 time.
func LastUsedPath(path string) string { return path + ".last-used" }

// LoadLastUsed reads the last-use times of the keys of the state file at
// path. A missing file is an empty map.
func LoadLastUsed(path string) (map[string]time.Time, error) {
	file := LastUsedPath(path)
	data, err := readOptional(file)
	if err != nil {
		return nil, fmt.Errorf("last-used file: %w", err)
	}
	used, err := decodeLastUsed(data)
	if err != nil {
		return nil, fmt.Errorf("last-used file %s: %w", file, err)
	}
	return used, nil
}

// readOptional reads a file that may be missing, which is no content.
func readOptional(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func decodeLastUsed(data []byte) (map[string]time.Time, error) {
	used := map[string]time.Time{}
	if len(data) == 0 {
		return used, nil
	}
	if err := json.Unmarshal(data, &used); err != nil {
		return nil, jsonError(data, err)
	}
	return used, nil
}

// MergeLastUsed records that the keys of seen were used at the given
// times, keeping the later time of each key, under the lock of the state
// file at path. A corrupt last-used file is replaced rather than reported:
// the times are advisory, and refusing would stop recording them for good.
// Times are kept in UTC to the second; beyond MaxLastUsed entries the
// oldest are dropped.
func MergeLastUsed(path string, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	file := LastUsedPath(path)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("last-used file %s: %w", file, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lastUsedLockTimeout)
	defer cancel()
	unlock, err := lock(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("last-used file %s: %w", file, err)
	}
	defer unlock()
	data, err := readOptional(file)
	if err != nil {
		return fmt.Errorf("last-used file: %w", err)
	}
	used, err := decodeLastUsed(data)
	if err != nil {
		used = map[string]time.Time{} // corrupt: start over
	}
	for id, t := range seen {
		t = t.UTC().Truncate(time.Second)
		if t.After(used[id]) {
			used[id] = t
		}
	}
	capLastUsed(used, MaxLastUsed)
	out, err := json.MarshalIndent(used, "", "  ")
	if err != nil {
		return fmt.Errorf("last-used file %s: %w", file, err)
	}
	if err := writeFile(file, append(out, '\n')); err != nil {
		return fmt.Errorf("last-used file %s: %w", file, err)
	}
	return nil
}

// capLastUsed drops the oldest entries of used beyond limit.
func capLastUsed(used map[string]time.Time, limit int) {
	if len(used) <= limit {
		return
	}
	ids := slices.SortedFunc(maps.Keys(used), func(a, b string) int {
		return used[b].Compare(used[a]) // newest first
	})
	for _, id := range ids[limit:] {
		delete(used, id)
	}
}
