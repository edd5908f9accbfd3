package proxy

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// When a burst of connections closes, the memory they held stays in the Go
// heap until the next collection, which a proxy that has gone quiet may not
// run for two minutes, and the runtime then returns freed pages to the OS
// only gradually. So once the number of open connections falls to half of
// its peak, by at least releaseMinDrop connections, the server collects and
// returns the freed memory to the OS: after releaseQuiet, so that the rest
// of the burst closes first, and at most once every releaseEvery.
const (
	releaseMinDrop = 1000
	releaseQuiet   = 2 * time.Second
	releaseEvery   = 10 * time.Second
)

// memoryRelease decides when to return the memory of closed connections to
// the OS. Its zero value is not usable: see newMemoryRelease.
type memoryRelease struct {
	// free returns memory to the OS; schedule runs f after d. Tests
	// replace both.
	free     func()
	schedule func(d time.Duration, f func()) *time.Timer
	now      func() time.Time

	mu      sync.Mutex
	open    int // connections open now
	peak    int // most connections open since the last release
	last    time.Time
	pending *time.Timer
	stopped bool
}

func newMemoryRelease() *memoryRelease {
	return &memoryRelease{free: freeMemory, schedule: time.AfterFunc, now: time.Now}
}

// freeMemory collects twice, so that what the buffer pools held at the
// first collection is freed by the second, and returns the freed memory to
// the OS.
func freeMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// opened counts a new connection.
func (r *memoryRelease) opened() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open++
	r.peak = max(r.peak, r.open)
}

// closed counts a closed connection, and schedules a release when the
// connections have fallen far enough below their peak.
func (r *memoryRelease) closed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open--
	if r.pending != nil || r.stopped || r.peak-r.open < releaseMinDrop || r.open > r.peak/2 {
		return
	}
	wait := releaseQuiet
	if next := r.last.Add(releaseEvery).Sub(r.now()); next > wait {
		wait = next
	}
	r.pending = r.schedule(wait, r.release)
}

// release returns the freed memory to the OS, and starts measuring the
// next peak from the connections open now.
func (r *memoryRelease) release() {
	r.free()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = nil
	r.last = r.now()
	r.peak = r.open
}

// stop cancels a scheduled release and schedules no more.
func (r *memoryRelease) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.pending != nil {
		r.pending.Stop()
		r.pending = nil
	}
}
