//go:build unix

package store

import (
	"io/fs"
	"os"
	"syscall"
)

// fileID returns the device and inode of the file fi describes.
func fileID(fi fs.FileInfo) (dev, inode uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// takeDirOwner gives f the owner and group of the directory dir, when they
// differ and the process may change them (as root). Then the CLI run with
// sudo leaves files that the proxy's user, owning the directory, can read.
// Failure is ignored: f keeps the writer's owner.
func takeDirOwner(f *os.File, dir string) {
	di, err := os.Stat(dir)
	if err != nil {
		return
	}
	fi, err := f.Stat()
	if err != nil {
		return
	}
	d, ok1 := di.Sys().(*syscall.Stat_t)
	s, ok2 := fi.Sys().(*syscall.Stat_t)
	if ok1 && ok2 && (d.Uid != s.Uid || d.Gid != s.Gid) {
		_ = f.Chown(int(d.Uid), int(d.Gid))
	}
}
