package proxy

import (
	"math/bits"
	"sync"
)

// Frame buffers larger than a connection keeps between frames come from
// size-classed pools (powers of two from 64 KiB to 64 MiB), so that large
// produce and fetch frames do not allocate (and zero) a new buffer each
// time, and idle connections hold no large buffers.
const (
	minPooledShift = 16 // 64 KiB
	maxPooledShift = 26 // 64 MiB
	// keepBuffer is the largest buffer a connection keeps between frames.
	keepBuffer = 1 << minPooledShift
)

var framePools [maxPooledShift - minPooledShift + 1]sync.Pool

func poolClass(n int) (int, bool) {
	shift := max(bits.Len(uint(n-1)), minPooledShift)
	return shift - minPooledShift, shift <= maxPooledShift
}

// getBuffer returns a buffer of length n, pooled when n is large.
func getBuffer(n int) []byte {
	if n <= keepBuffer {
		return make([]byte, n)
	}
	c, ok := poolClass(n)
	if !ok {
		return make([]byte, n)
	}
	if b, _ := framePools[c].Get().(*[]byte); b != nil {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<(c+minPooledShift))
}

// putBuffer returns a buffer from getBuffer to its pool. Buffers that are
// small or not of a pool's exact capacity are left to the garbage collector.
func putBuffer(b []byte) {
	n := cap(b)
	if n <= keepBuffer || n&(n-1) != 0 {
		return
	}
	c, ok := poolClass(n)
	if !ok {
		return
	}
	b = b[:0]
	framePools[c].Put(&b)
}

// recycle keeps buf for the next frame when it is small, else returns it to
// its pool and gives nil.
func recycle(buf []byte) []byte {
	if cap(buf) > keepBuffer {
		putBuffer(buf)
		return nil
	}
	return buf
}
