package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch responses carry nearly all of a consumer's bytes, and from v16 on
// they may name brokers (KIP-951 NodeEndpoints, in the trailing tagged
// fields). Buffering each whole response to rewrite its tail would delay
// every byte by a full response and copy it twice, so the proxy walks the
// response as it arrives instead: the small structural fields are copied
// through the client writer, record batches go socket to socket (spliced in
// the kernel between TCP connections), and the trailing tag section is read
// whole and rewritten at its original size.

// fetchWalkVersions is the range of Fetch response versions whose layout
// the fetchWalker knows: flexible, with topic ids, partitions as below. A test
// fails if the API table ever allows a Fetch version outside it.
const (
	fetchWalkMinVersion = 13
	fetchWalkMaxVersion = 18
)

// maxFetchTags bounds the trailing tag section read into memory.
const maxFetchTags = 1 << 20

// spliceThreshold is the smallest record set worth a direct socket copy;
// smaller ones go through the buffered writer with the fields around them.
const spliceThreshold = 16 << 10

var errFetchLayout = errors.New("fetch response does not match its layout")

// fetchWalker copies one Fetch response from src to dst while tracking how
// much of the frame is left. Large record sets bypass both buffers: they go
// from srcRaw (the connection under src) to dstRaw (the one under dst).
type fetchWalker struct {
	src     *bufio.Reader
	srcRaw  io.Reader
	dst     *bufio.Writer
	dstRaw  io.Writer
	a       advertiser
	version int16
	left    int
}

// relayFetch relays a Fetch response of a version in fetchWalkVersions.
// hdr is the size and correlation id, already read.
func (c *clientConn) relayFetch(p pending, hdr [8]byte, size int) error {
	if _, err := c.out.Write(hdr[:]); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	w := &fetchWalker{
		src: c.up.in.reader(), srcRaw: c.up.nc, dst: c.out.writer(), dstRaw: c.nc,
		a: c.l, version: p.version, left: size - 4,
	}
	if err := w.walk(); err != nil {
		if errors.Is(err, errFetchLayout) {
			c.s.metrics.upstreamErrors.WithLabelValues(reasonProtocol).Inc()
		}
		return fmt.Errorf("upstream %s: %s v%d response: %w", c.up.addr, p.spec.name, p.version, err)
	}
	return nil
}

func (w *fetchWalker) walk() error {
	if err := w.tags(); err != nil { // response header tags
		return err
	}
	if err := w.copy(4 + 2 + 4); err != nil { // throttle, error code, session id
		return err
	}
	topics, err := w.arrayLen()
	if err != nil {
		return err
	}
	for range topics {
		if err := w.copy(16); err != nil { // topic id
			return err
		}
		partitions, err := w.arrayLen()
		if err != nil {
			return err
		}
		for range partitions {
			if err := w.partition(); err != nil {
				return err
			}
		}
		if err := w.tags(); err != nil {
			return err
		}
	}
	return w.trailingTags()
}

func (w *fetchWalker) partition() error {
	// partition, error code, high watermark, last stable offset, log
	// start offset
	if err := w.copy(4 + 2 + 8 + 8 + 8); err != nil {
		return err
	}
	aborted, err := w.arrayLen()
	if err != nil {
		return err
	}
	for range aborted {
		if err := w.copy(8 + 8); err != nil { // producer id, first offset
			return err
		}
		if err := w.tags(); err != nil {
			return err
		}
	}
	if err := w.copy(4); err != nil { // preferred read replica
		return err
	}
	n, err := w.uvarint() // compact nullable bytes: length + 1
	if err != nil {
		return err
	}
	if n > 0 {
		if err := w.records(int(n - 1)); err != nil {
			return err
		}
	}
	// Partition tags (diverging epoch, current leader, snapshot id) carry
	// node ids and epochs only.
	return w.tags()
}

// take accounts for n more bytes of the frame.
func (w *fetchWalker) take(n int) error {
	if n < 0 || n > w.left {
		return fmt.Errorf("%w: %d bytes needed, %d left", errFetchLayout, n, w.left)
	}
	w.left -= n
	return nil
}

// copy passes n bytes through the buffered writer.
func (w *fetchWalker) copy(n int) error {
	if err := w.take(n); err != nil {
		return err
	}
	br, bw := w.src, w.dst
	for n > 0 {
		chunk, err := br.Peek(min(n, br.Size()))
		if len(chunk) == 0 && err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if _, err := bw.Write(chunk); err != nil {
			return fmt.Errorf("client write: %w", err)
		}
		_, _ = br.Discard(len(chunk))
		n -= len(chunk)
	}
	return nil
}

// uvarint reads an unsigned varint and passes it through.
func (w *fetchWalker) uvarint() (uint32, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		if err := w.take(1); err != nil {
			return 0, err
		}
		b, err := w.src.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		if err := w.dst.WriteByte(b); err != nil {
			return 0, fmt.Errorf("client write: %w", err)
		}
		v |= uint32(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: varint too long", errFetchLayout)
}

// arrayLen reads a compact array length (null counts as empty).
func (w *fetchWalker) arrayLen() (int, error) {
	n, err := w.uvarint()
	if err != nil || n == 0 {
		return 0, err
	}
	if int(n-1) > w.left {
		return 0, fmt.Errorf("%w: array of %d in %d bytes", errFetchLayout, n-1, w.left)
	}
	return int(n - 1), nil
}

// tags passes a tagged-field section through.
func (w *fetchWalker) tags() error {
	n, err := w.uvarint()
	if err != nil {
		return err
	}
	for range n {
		if _, err := w.uvarint(); err != nil { // tag
			return err
		}
		size, err := w.uvarint()
		if err != nil {
			return err
		}
		if err := w.copy(int(size)); err != nil {
			return err
		}
	}
	return nil
}

// records passes a record set through, socket to socket when large.
func (w *fetchWalker) records(n int) error {
	if n < spliceThreshold {
		return w.copy(n)
	}
	if err := w.take(n); err != nil {
		return err
	}
	if k := min(w.src.Buffered(), n); k > 0 {
		chunk, _ := w.src.Peek(k)
		if _, err := w.dst.Write(chunk); err != nil {
			return fmt.Errorf("client write: %w", err)
		}
		_, _ = w.src.Discard(k)
		n -= k
	}
	if err := w.dst.Flush(); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	if _, err := io.CopyN(w.dstRaw, w.srcRaw, int64(n)); err != nil {
		return fmt.Errorf("relay %d record bytes: %w", n, err)
	}
	return nil
}

// trailingTags reads the top-level tag section, which is the rest of the
// frame, and writes it with NodeEndpoints rewritten.
func (w *fetchWalker) trailingTags() error {
	n := w.left
	if n < 1 || n > maxFetchTags {
		return fmt.Errorf("%w: trailing tag section of %d bytes", errFetchLayout, n)
	}
	w.left = 0
	section := make([]byte, n)
	if _, err := io.ReadFull(w.src, section); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	// Decode the section by itself: behind an empty response's fields it
	// is a whole response.
	empty := kmsg.FetchResponse{Version: w.version}
	enc := empty.AppendTo(nil)
	enc = append(enc[:len(enc)-1], section...)
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = w.version
	if err := resp.ReadFrom(enc); err != nil {
		return fmt.Errorf("%w: trailing tags: %v", errFetchLayout, err)
	}
	if err := rewriteFetchTags(resp, section, w.a); err != nil {
		return err
	}
	if _, err := w.dst.Write(section); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	return nil
}
