package proxy

import (
	"bufio"
	"io"
	"math/bits"
	"sync"
)

// Buffers come from pools and are held only while bytes pass through them,
// so that an idle connection holds none: only its goroutines' stacks and a
// few small structs. Frame buffers are size-classed (powers of two from
// 512 bytes to 64 MiB), so that large produce and fetch frames do not
// allocate (and zero) a new buffer each time either.
const (
	minPooledShift = 9  // 512 bytes
	maxPooledShift = 26 // 64 MiB
	// keepBuffer is the largest frame buffer a busy connection keeps for
	// its next frame; larger ones go back to their pool at once.
	keepBuffer = 64 << 10
)

var framePools [maxPooledShift - minPooledShift + 1]sync.Pool

func poolClass(n int) (int, bool) {
	shift := max(bits.Len(uint(n-1)), minPooledShift)
	return shift - minPooledShift, shift <= maxPooledShift
}

// getBuffer returns a buffer of length n from its size class's pool.
func getBuffer(n int) []byte {
	c, ok := poolClass(n)
	if !ok {
		return make([]byte, n)
	}
	if b, _ := framePools[c].Get().(*[]byte); b != nil {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<(c+minPooledShift))
}

// putBuffer returns a buffer from getBuffer to its pool. Buffers not of a
// pool's exact capacity (nil, or made elsewhere) are left to the garbage
// collector.
func putBuffer(b []byte) {
	n := cap(b)
	if n == 0 || n&(n-1) != 0 {
		return
	}
	c, ok := poolClass(n)
	if !ok || n != 1<<(c+minPooledShift) {
		return
	}
	b = b[:0]
	framePools[c].Put(&b)
}

// recycle keeps buf for a busy connection's next frame when it is small,
// else returns it to its pool and gives nil.
func recycle(buf []byte) []byte {
	if cap(buf) > keepBuffer {
		putBuffer(buf)
		return nil
	}
	return buf
}

// ioBufferSize is the bufio size on each side of a connection. Small frames
// batch through it; larger frames bypass it.
const ioBufferSize = 8 << 10

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, ioBufferSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, ioBufferSize) }}
)

// connReader reads a connection through a pooled bufio.Reader that it holds
// only while bytes are buffered in it. Waiting for the next message holds
// no buffer: readHead reads the message's first bytes straight from the
// connection when nothing is buffered, and then takes a reader for the
// rest. One goroutine at a time uses it.
type connReader struct {
	src io.Reader
	br  *bufio.Reader // nil when nothing is buffered
}

// readHead fills head with the next bytes of the connection.
func (r *connReader) readHead(head []byte) error {
	if r.buffered() > 0 {
		_, err := io.ReadFull(r.br, head)
		return err
	}
	r.release()
	if _, err := io.ReadFull(r.src, head); err != nil {
		return err
	}
	r.reader()
	return nil
}

// reader returns the buffered reader, taking one from the pool if needed.
func (r *connReader) reader() *bufio.Reader {
	if r.br == nil {
		r.br = readerPool.Get().(*bufio.Reader)
		r.br.Reset(r.src)
	}
	return r.br
}

// buffered is the number of bytes read from the connection and not yet
// consumed.
func (r *connReader) buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered()
}

// release gives the reader back to the pool when nothing is buffered in
// it.
func (r *connReader) release() {
	if r.br != nil && r.br.Buffered() == 0 {
		r.br.Reset(nil)
		readerPool.Put(r.br)
		r.br = nil
	}
}

// connWriter writes a connection through a pooled bufio.Writer that it
// holds only between a write and the next flush. One goroutine at a time
// uses it.
type connWriter struct {
	dst io.Writer
	bw  *bufio.Writer // nil when nothing is buffered
}

// writer returns the buffered writer, taking one from the pool if needed.
func (w *connWriter) writer() *bufio.Writer {
	if w.bw == nil {
		w.bw = writerPool.Get().(*bufio.Writer)
		w.bw.Reset(w.dst)
	}
	return w.bw
}

// Write buffers p, or writes it straight through when it is large.
func (w *connWriter) Write(p []byte) (int, error) { return w.writer().Write(p) }

// buffered is the number of bytes written and not yet flushed.
func (w *connWriter) buffered() int {
	if w.bw == nil {
		return 0
	}
	return w.bw.Buffered()
}

// flush writes what is buffered and gives the writer back to the pool. A
// writer whose write failed is kept, so that later writes fail too.
func (w *connWriter) flush() error {
	if w.bw == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	w.bw.Reset(nil)
	writerPool.Put(w.bw)
	w.bw = nil
	return nil
}
