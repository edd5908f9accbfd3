package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// pending is one request awaiting its response, in request order. Kafka
// answers the requests of one connection in order, so a FIFO matches
// responses to requests; locally answered requests take their turn in it.
type pending struct {
	spec          *apiSpec
	version       int16
	correlationID int32
	start         time.Time
	// local, when set, is the complete response frame the proxy answers
	// itself; nothing is read from upstream for it.
	local []byte
	// closeAfter closes the connection once local has been written.
	closeAfter bool
}

// clientConn is one client connection and its upstream connection. The
// reading goroutine decodes and forwards requests; the writing goroutine
// matches responses, rewrites broker addresses, and writes them back.
type clientConn struct {
	s    *Server
	nc   net.Conn
	node int32 // upstream node this listener serves, or bootstrapNode
	kind string
	log  *zap.Logger

	br *bufio.Reader
	bw *bufio.Writer

	// up is set by the reading goroutine before the first forwarded
	// request is queued; the writing goroutine reads it only after
	// receiving such a request, so the channel orders the accesses.
	// upMu guards setting it against close.
	up     *upstreamConn
	upMu   sync.Mutex
	closed bool

	inflight chan pending
	done     chan struct{} // closed when the writing goroutine ends

	draining  chan struct{}
	drainOnce sync.Once
}

func newClientConn(s *Server, nc net.Conn, node int32, kind string) *clientConn {
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	return &clientConn{
		s:        s,
		nc:       nc,
		node:     node,
		kind:     kind,
		log:      s.log.With(zap.String("client", nc.RemoteAddr().String()), zap.Int32("node_id", node)),
		br:       bufio.NewReaderSize(nc, ioBufferSize),
		bw:       bufio.NewWriterSize(nc, ioBufferSize),
		inflight: make(chan pending, s.cfg.Limits.MaxInFlight),
		done:     make(chan struct{}),
		draining: make(chan struct{}),
	}
}

// serve runs the connection until the client or upstream goes away.
func (c *clientConn) serve() {
	m := c.s.metrics
	m.connectionsActive.WithLabelValues(c.kind).Inc()
	defer m.connectionsActive.WithLabelValues(c.kind).Dec()
	if tc, ok := c.nc.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), c.s.dialer.timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.log.Info("client TLS handshake failed", zap.Error(err))
			c.nc.Close()
			return
		}
	}
	go c.writeLoop()
	err := c.readLoop()
	// A connection that is draining for shutdown, or that ends after a
	// final local answer, lets the writer answer what is in flight. One
	// that the client or upstream broke is closed at once: nobody waits
	// for its responses, and the writer may be blocked on upstream.
	graceful := err == nil || c.isDraining()
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("client disconnected")
	case c.isDraining() && errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Debug("client connection drained for shutdown")
	default:
		c.log.Info("closing client connection", zap.Error(err))
	}
	if !graceful {
		c.close()
	}
	close(c.inflight)
	<-c.done
	c.close()
}

// readLoop reads, checks and forwards client requests until an error.
func (c *clientConn) readLoop() error {
	maxReq := c.s.cfg.Limits.MaxRequestBytes
	m := c.s.metrics
	var buf []byte
	for {
		f, err := readFrame(c.br, maxReq, buf)
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				m.requestsRejected.WithLabelValues(reasonFrameTooLarge).Inc()
			}
			return err
		}
		m.clientBytesReceived.Add(float64(len(f.buf)))
		p, err := c.handleRequest(f)
		buf = recycle(f.buf) // the frame has been forwarded or answered
		if err != nil {
			return err
		}
		if p == nil {
			continue // acks=0 produce: forwarded, no response expected
		}
		select {
		case c.inflight <- *p:
		case <-c.done:
			return net.ErrClosed
		}
		if p.closeAfter {
			return nil
		}
	}
}

// handleRequest runs one request through decode, gate and forward. It
// returns the entry to queue for the response, nil when no response is
// expected, or an error that closes the connection.
func (c *clientConn) handleRequest(f frame) (*pending, error) {
	m := c.s.metrics
	payload := f.payload()
	key, version, corr, err := peekRequestHeader(payload)
	if err != nil {
		m.requestsRejected.WithLabelValues(reasonMalformed).Inc()
		return nil, err
	}
	spec := lookupAPI(key)
	if spec == nil {
		m.requestsRejected.WithLabelValues(reasonUnsupportedAPI).Inc()
		return nil, fmt.Errorf("unsupported api key %d (version %d): refused", key, version)
	}
	p := &pending{spec: spec, version: version, correlationID: corr, start: time.Now()}
	m.requests[key].Inc()
	if version < 0 || version > spec.maxVersion {
		if spec == apiVersionsSpec {
			// KIP-511: answer in v0 so the client can retry lower.
			p.local = appendResponseFrame(nil, corr, false, answerApiVersions(version, nil, nil))
			return p, nil
		}
		m.requestsRejected.WithLabelValues(reasonUnsupportedVersion).Inc()
		return nil, fmt.Errorf("%s version %d is newer than the proxy supports (max %d): refused", spec.name, version, spec.maxVersion)
	}
	hdr, err := parseRequestHeader(payload, spec.flexible(version))
	if err != nil {
		m.requestsRejected.WithLabelValues(reasonMalformed).Inc()
		return nil, err
	}
	req := spec.newRequest()
	req.SetVersion(version)
	if err := req.ReadFrom(payload[hdr.BodyOffset:]); err != nil {
		m.requestsRejected.WithLabelValues(reasonMalformed).Inc()
		return nil, fmt.Errorf("%w: %s v%d body: %v", errMalformed, spec.name, version, err)
	}
	if h := localHandlers[key]; h != nil {
		body, closeAfter, err := h(c, req)
		if err != nil {
			return nil, err
		}
		// ApiVersions responses always use header v0.
		flexHeader := spec.flexible(version) && spec != apiVersionsSpec
		p.local = appendResponseFrame(nil, corr, flexHeader, body)
		p.closeAfter = closeAfter
		return p, nil
	}
	if err := c.ensureUpstream(); err != nil {
		return nil, err
	}
	if pr, ok := req.(*kmsg.ProduceRequest); ok && pr.Acks == 0 {
		p = nil // the broker sends no response
	}
	if err := c.forward(f); err != nil {
		return nil, err
	}
	return p, nil
}

// forward writes a request frame, unchanged, to the upstream broker. It
// flushes when the client has nothing more buffered, so pipelined requests
// leave in one write.
func (c *clientConn) forward(f frame) error {
	if _, err := c.up.bw.Write(f.buf); err != nil {
		c.s.metrics.upstreamErrors.WithLabelValues(reasonWrite).Inc()
		return fmt.Errorf("upstream %s: write: %w", c.up.addr, err)
	}
	if c.br.Buffered() == 0 {
		if err := c.up.bw.Flush(); err != nil {
			c.s.metrics.upstreamErrors.WithLabelValues(reasonWrite).Inc()
			return fmt.Errorf("upstream %s: write: %w", c.up.addr, err)
		}
	}
	return nil
}

// ensureUpstream connects to the upstream broker on first use.
func (c *clientConn) ensureUpstream() error {
	if c.up != nil {
		return nil
	}
	up, err := c.s.dialUpstream(context.Background(), c.node)
	if err != nil {
		return err
	}
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if c.closed {
		up.Close()
		return net.ErrClosed
	}
	c.up = up
	c.s.metrics.upstreamActive.Inc()
	return nil
}

// writeLoop writes responses in request order until the queue closes or a
// write fails.
func (c *clientConn) writeLoop() {
	defer close(c.done)
	err := c.writeResponses()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Info("response path failed", zap.Error(err))
	}
	// Unblock the reader if it waits on the client or upstream.
	c.close()
}

func (c *clientConn) writeResponses() error {
	m := c.s.metrics
	maxResp := c.s.cfg.Limits.MaxResponseBytes
	var buf []byte
	for p := range c.inflight {
		out := p.local
		if out == nil {
			// About to wait for upstream: first send what is buffered
			// (say, a local answer queued before this request).
			if c.bw.Buffered() > 0 && c.up.br.Buffered() == 0 {
				if err := c.bw.Flush(); err != nil {
					return fmt.Errorf("client write: %w", err)
				}
			}
			f, err := readFrame(c.up.br, maxResp, buf)
			if err != nil {
				m.upstreamErrors.WithLabelValues(reasonRead).Inc()
				return fmt.Errorf("upstream %s: read: %w", c.up.addr, err)
			}
			buf = f.buf
			if out, err = c.processResponse(p, f); err != nil {
				putBuffer(buf)
				m.upstreamErrors.WithLabelValues(reasonProtocol).Inc()
				return fmt.Errorf("upstream %s: %w", c.up.addr, err)
			}
		}
		if _, err := c.bw.Write(out); err != nil {
			return fmt.Errorf("client write: %w", err)
		}
		// Batch responses while more are queued; flush when none is.
		if len(c.inflight) == 0 {
			if err := c.bw.Flush(); err != nil {
				return fmt.Errorf("client write: %w", err)
			}
		}
		m.clientBytesSent.Add(float64(len(out)))
		m.latency[p.spec.key].Observe(time.Since(p.start).Seconds())
		buf = recycle(buf) // written: bufio copied it or wrote it through
		if p.closeAfter {
			return c.bw.Flush()
		}
	}
	return c.bw.Flush()
}

// processResponse checks a response against its request and rewrites broker
// addresses where the API carries them. An unchanged response is returned
// as the original bytes.
func (c *clientConn) processResponse(p pending, f frame) ([]byte, error) {
	payload := f.payload()
	if len(payload) < 4 {
		return nil, fmt.Errorf("%w: response of %d bytes", errMalformed, len(payload))
	}
	if corr := int32(binary.BigEndian.Uint32(payload)); corr != p.correlationID {
		return nil, fmt.Errorf("%w: %s response has correlation id %d, expected %d", errMalformed, p.spec.name, corr, p.correlationID)
	}
	spec := p.spec
	if spec.rewrite == nil || p.version < spec.rewriteFrom {
		return f.buf, nil
	}
	flexHeader := spec.flexible(p.version)
	hl, err := responseHeaderLen(payload, flexHeader)
	if err != nil {
		return nil, err
	}
	resp := kmsg.ResponseForKey(spec.key)
	resp.SetVersion(p.version)
	if err := resp.ReadFrom(payload[hl:]); err != nil {
		return nil, fmt.Errorf("%w: %s v%d response: %v", errMalformed, spec.name, p.version, err)
	}
	if !spec.rewrite(resp, c.s) {
		return f.buf, nil
	}
	// Keep the original header (correlation id and tags), re-encode the body.
	out := make([]byte, 4, 4+len(payload)+64)
	out = append(out, payload[:hl]...)
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out, nil
}

// drain asks the connection to stop reading new requests and close once the
// ones in flight are answered.
func (c *clientConn) drain() {
	c.drainOnce.Do(func() {
		close(c.draining)
		_ = c.nc.SetReadDeadline(time.Now())
	})
}

func (c *clientConn) isDraining() bool {
	select {
	case <-c.draining:
		return true
	default:
		return false
	}
}

// abort closes both sides at once.
func (c *clientConn) abort() { c.close() }

func (c *clientConn) close() {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.nc.Close()
	if c.up != nil {
		c.up.Close()
		c.s.metrics.upstreamActive.Dec()
	}
}
