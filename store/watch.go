package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// DefaultWatchInterval is the polling interval of Watch when none is given.
const DefaultWatchInterval = time.Second

// Watch calls onChange with the state at path once at the start and again
// whenever the file changes (including appearing or disappearing; a missing
// file is an empty State), polling its size, modification time and inode
// every interval (DefaultWatchInterval if interval <= 0). It returns when
// ctx is done.
//
// An unreadable or corrupt file gives onChange(nil, err), so the caller can
// keep the state it had; it is retried every interval but reported again
// only when the error changes. onChange is called from one goroutine at a
// time: never concurrently.
func Watch(ctx context.Context, path string, interval time.Duration, onChange func(*State, error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	w := watcher{path: path, onChange: onChange}
	w.poll(true)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.poll(false)
		}
	}
}

// watcher is the polling state of Watch.
type watcher struct {
	path     string
	onChange func(*State, error)
	last     fingerprint
	lastErr  string // the error last reported, "" after a good load
}

// poll loads and reports the file if it changed since the last load, or if
// the last load failed.
func (w *watcher) poll(first bool) {
	fp := fingerprintOf(w.path)
	if !first && fp == w.last && w.lastErr == "" {
		return
	}
	// The fingerprint is taken before loading: a change racing the load is
	// seen by the next poll.
	w.last = fp
	st, err := Load(w.path)
	if err != nil {
		if msg := err.Error(); msg != w.lastErr {
			w.lastErr = msg
			w.onChange(nil, err)
		}
		return
	}
	w.lastErr = ""
	w.onChange(st, nil)
}

// fingerprint identifies one version of a file. Writers replace the state
// file by renaming a new file over it, which changes the inode even when
// size and modification time happen to match.
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
