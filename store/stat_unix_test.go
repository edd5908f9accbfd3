//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFilesTakeDirectoryOwner: run as root (like the CLI under sudo), the
// state file and its lock stay readable by the directory's owner (the
// proxy's user).
func TestFilesTakeDirectoryOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to change file owners")
	}
	const uid, gid = 4242, 4343
	dir := t.TempDir()
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(context.Background(), Create(&ServiceAccount{Metadata: Meta{ID: "sa-abc123"}, DisplayName: "a"})); err != nil {
		t.Fatal(err)
	}
	if err := MergeLastUsed(path, map[string]time.Time{"A": t0}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".lock", LastUsedPath(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s is owned by %d:%d, want the directory's %d:%d", filepath.Base(p), st.Uid, st.Gid, uid, gid)
		}
	}
}
