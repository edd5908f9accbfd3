package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix marks the temporary files of writeFile: ".<name>.tmp-<random>".
const tempInfix = ".tmp-"

// writeFile replaces path with data so that a crash at any point leaves
// either the old or the new content: it writes a temporary file in the same
// directory (mode 0600, owned like the directory where possible), syncs it,
// renames it over path and syncs the directory so that the rename itself is
// durable. The caller holds the lock of path, so any temporary file of path
// left by a crashed writer is removed.
func writeFile(path string, data []byte) (err error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStaleTemps(dir, name)
	tmp, err := os.CreateTemp(dir, "."+name+tempInfix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	takeDirOwner(tmp, dir) // CreateTemp made it mode 0600
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the directory entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeStaleTemps removes temporary files of name left in dir by writers
// that crashed. Failure is harmless: they are only clutter.
func removeStaleTemps(dir, name string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + name + tempInfix
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return
			}
		}
	}
}
