//go:build !unix

package store

import (
	"io/fs"
	"os"
)

// fileID is unknown here; Watch relies on size and modification time.
func fileID(fs.FileInfo) (dev, inode uint64) { return 0, 0 }

func takeDirOwner(*os.File, string) {}
