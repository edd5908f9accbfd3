package proxy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The response path. Each response is relayed in one of three ways, chosen
// from the API table:
//
//   - streamed: the common case, a response that names no broker. The
//     header is checked, then the body is copied to the client as it
//     arrives, moved by the kernel (splice) when both sides are plain TCP.
//   - walked: Fetch v16+, whose trailing tagged fields may name brokers
//     (NodeEndpoints). It streams like the first kind while its structure is
//     followed, and its trailing tags are rewritten in place (fetchstream.go).
//   - buffered: a small response that names brokers (Metadata,
//     FindCoordinator, ...). It is decoded, rewritten and re-encoded.

// writeResponses writes responses in request order until the queue is
// empty (idle), a write fails, or a response ends the connection. Every
// burst ends with a flush, which gives the client writer back to its pool.
func (c *clientConn) writeResponses() (idle bool, err error) {
	m := c.s.metrics
	for {
		p, ok := c.inflight.pop()
		if !ok {
			return true, nil
		}
		var n int
		if p.local != nil {
			if _, err := c.out.Write(p.local); err != nil {
				return false, fmt.Errorf("client write: %w", err)
			}
			n = len(p.local)
		} else {
			// About to wait for upstream: first send what is buffered
			// (say, a local answer queued before this request).
			if c.out.buffered() > 0 && c.up.in.buffered() == 0 {
				if err := c.out.flush(); err != nil {
					return false, fmt.Errorf("client write: %w", err)
				}
			}
			if n, err = c.relay(p); err != nil {
				return false, err
			}
		}
		// Batch responses while more are queued; flush when none is.
		if c.inflight.waiting() == 0 {
			if err := c.out.flush(); err != nil {
				return false, fmt.Errorf("client write: %w", err)
			}
		}
		m.clientBytesSent.Add(float64(n))
		p.spec.latency.Observe(time.Since(p.start).Seconds())
		c.inflight.done()
		if p.closeAfter {
			return false, c.out.flush()
		}
	}
}

// relay reads the response to p from upstream and writes it to the client,
// returning the bytes written.
func (c *clientConn) relay(p pending) (int, error) {
	m := c.s.metrics
	// Waiting for the response holds no read buffer (a long-polling
	// Fetch may wait for seconds); the rest of it is read through one.
	var hdr [8]byte // size and correlation id
	defer c.up.in.release()
	if err := c.up.in.readHead(hdr[:]); err != nil {
		m.upstreamErrors.WithLabelValues(reasonRead).Inc()
		return 0, fmt.Errorf("upstream %s: read: %w", c.up.addr, err)
	}
	size := int(int32(binary.BigEndian.Uint32(hdr[:4])))
	if size < 4 || size > c.s.cfg.Limits.MaxResponseBytes {
		m.upstreamErrors.WithLabelValues(reasonProtocol).Inc()
		return 0, fmt.Errorf("upstream %s: %w: %s response of %d bytes (limit %d)", c.up.addr, ErrFrameTooLarge, p.spec.name, size, c.s.cfg.Limits.MaxResponseBytes)
	}
	if corr := int32(binary.BigEndian.Uint32(hdr[4:])); corr != p.correlationID {
		m.upstreamErrors.WithLabelValues(reasonProtocol).Inc()
		return 0, fmt.Errorf("upstream %s: %w: %s response has correlation id %d, expected %d", c.up.addr, errMalformed, p.spec.name, corr, p.correlationID)
	}
	if p.fetch.Tracked() {
		c.noteFetchSession(p, size)
	}
	spec := p.spec
	var err error
	switch {
	case p.patch != nil:
		err = c.relayRewritten(p, hdr, size)
	case !spec.namesBrokers(p.version):
		err = c.stream(hdr[:], size-4)
	case spec.walk != nil:
		err = spec.walk(c, p, hdr, size)
	default:
		err = c.relayRewritten(p, hdr, size)
	}
	if err != nil {
		return 0, err
	}
	return 4 + size, nil
}

// stream writes head, then copies n body bytes from upstream to the client
// unchanged.
func (c *clientConn) stream(head []byte, n int) error {
	if _, err := c.out.Write(head); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	// What the upstream reader has buffered already, and a small body
	// whole, go through the buffers...
	br := c.up.in.reader()
	for n > 0 && (br.Buffered() > 0 || n < spliceThreshold) {
		k := min(n, br.Size())
		if b := br.Buffered(); b > 0 {
			k = min(k, b)
		}
		chunk, err := br.Peek(k)
		if _, werr := c.out.Write(chunk); werr != nil {
			return fmt.Errorf("client write: %w", werr)
		}
		_, _ = br.Discard(len(chunk))
		n -= len(chunk)
		if err != nil {
			c.s.metrics.upstreamErrors.WithLabelValues(reasonRead).Inc()
			return fmt.Errorf("relay %d response bytes from upstream %s: %w", n, c.up.addr, err)
		}
	}
	if n == 0 {
		return nil
	}
	// ...then the rest straight from socket to socket. Between two TCP
	// connections io.CopyN splices in the kernel.
	if err := c.out.flush(); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	if _, err := io.CopyN(c.nc, c.up.nc, int64(n)); err != nil {
		c.s.metrics.upstreamErrors.WithLabelValues(reasonRead).Inc()
		return fmt.Errorf("relay %d response bytes from upstream %s: %w", n, c.up.addr, err)
	}
	return nil
}

// readBody reads the rest of a response whose header is hdr into a pooled
// buffer holding the whole frame.
func (c *clientConn) readBody(hdr [8]byte, size int) ([]byte, error) {
	buf := getBuffer(4 + size)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(c.up.in.reader(), buf[len(hdr):]); err != nil {
		putBuffer(buf)
		c.s.metrics.upstreamErrors.WithLabelValues(reasonRead).Inc()
		return nil, fmt.Errorf("upstream %s: read: %w", c.up.addr, err)
	}
	return buf, nil
}

// decodeResponse decodes the body of a buffered response frame.
func decodeResponse(p pending, frame []byte) (kmsg.Response, int, error) {
	payload := frame[4:]
	hl, err := responseHeaderLen(payload, p.spec.flexible(p.version))
	if err != nil {
		return nil, 0, err
	}
	resp := kmsg.ResponseForKey(p.spec.key)
	resp.SetVersion(p.version)
	if err := resp.ReadFrom(payload[hl:]); err != nil {
		return nil, 0, fmt.Errorf("%w: %s v%d response: %v", errMalformed, p.spec.name, p.version, err)
	}
	return resp, 4 + hl, nil
}

// relayRewritten buffers a response, rewrites the brokers it names, applies
// the request's authorization patch, and writes it re-encoded, or as the
// original bytes when nothing changed.
func (c *clientConn) relayRewritten(p pending, hdr [8]byte, size int) error {
	buf, err := c.readBody(hdr, size)
	if err != nil {
		return err
	}
	defer putBuffer(buf)
	resp, bodyAt, err := decodeResponse(p, buf)
	if err != nil {
		c.s.metrics.upstreamErrors.WithLabelValues(reasonProtocol).Inc()
		return fmt.Errorf("upstream %s: %w", c.up.addr, err)
	}
	if r, ok := resp.(*kmsg.MetadataResponse); ok {
		c.s.topics.learn(r.Topics)
	}
	changed := p.spec.namesBrokers(p.version) && p.spec.rewrite(resp, c.l)
	if p.patch != nil {
		p.patch(resp)
		changed = true
	}
	out := buf
	if changed {
		// Keep the original header (correlation id and tags); re-encode
		// the body behind it.
		out = make([]byte, bodyAt, bodyAt+size+64)
		copy(out, buf[:bodyAt])
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	}
	if _, err := c.out.Write(out); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	return nil
}

// noteFetchSession tells the connection's fetch sessions which session a
// Fetch answer names, reading the answer's head without consuming it. An
// answer too short to tell counts as ending the session.
func (c *clientConn) noteFetchSession(p pending, size int) {
	code, session, ok := peekFetchHead(c.up.in.reader(), size-4, p.spec.flexible(p.version))
	if !ok {
		code, session = kerr.UnknownServerError.Code, 0
	}
	p.fetch.Answered(code, session)
}

// peekFetchHead reads the top-level error code and session id of a Fetch
// response (v7+) whose n body bytes follow in br: after the response
// header's tags (flexible versions), the throttle time, the error code and
// the session id.
func peekFetchHead(br *bufio.Reader, n int, flexible bool) (code int16, session int32, ok bool) {
	const fields = 4 + 2 + 4
	want := fields
	if flexible {
		want++ // an empty tag section, as brokers send
	}
	for {
		if want > n || want > br.Size() {
			return 0, 0, false
		}
		head, err := br.Peek(want)
		if err != nil {
			return 0, 0, false
		}
		r := kbin.Reader{Src: head}
		if flexible {
			skipTags(&r)
		}
		r.Int32() // throttle time
		code, session = r.Int16(), r.Int32()
		if r.Ok() {
			return code, session, true
		}
		if want >= n {
			return 0, 0, false
		}
		want = min(n, 2*want) // tagged fields in the header: look further
	}
}
