package store

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// DefaultWatchInterval is the polling interval of Watch when none is given.
const DefaultWatchInterval = time.Second

// fingerprint identifies a version of a file by its size, modification
// time and inode, which a replacement by rename changes.
type fingerprint struct {
	exists     bool
	size       int64
	mtime      int64 // Unix nanoseconds
	dev, inode uint64
	statErr    string // other than not existing
}

func fingerprintOf(path string) fingerprint {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fingerprint{}
	case err != nil:
		return fingerprint{statErr: err.Error()}
	}
	dev, ino := fileID(fi)
	return fingerprint{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano(), dev: dev, inode: ino}
}
