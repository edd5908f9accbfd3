package proxy

import (
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

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/enforce"
)

// pending is one request awaiting its response in the in-flight queue.
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
	// patch, when set, edits the upstream's response before the client
	// sees it (authorization merges denied items back, or filters).
	patch func(kmsg.Response)
	// fetch, for a Fetch, records the fetch session its answer names.
	fetch enforce.FetchExchange
}

// clientConn is one client connection and its upstream connection. The
// reading goroutine decodes and forwards requests; the writing goroutine,
// which runs only while requests await their responses, matches
// responses, rewrites broker addresses, and writes them back.
type clientConn struct {
	s    *Server
	l    *listener // the listener that accepted it
	nc   net.Conn
	node int32 // upstream node this listener serves, or bootstrapNode
	kind string
	log  *zap.Logger

	// in and out buffer the client's side, each held only while bytes
	// pass; in belongs to the reading goroutine, out to the writing one.
	in  connReader
	out connWriter
	// size is the reading goroutine's space for a frame's size prefix.
	size [4]byte

	// up is set by the reading goroutine before the first forwarded
	// request is queued; the writing goroutine reads it only after taking
	// such a request, so the in-flight queue orders the accesses. upMu
	// guards setting it against close.
	up     *upstreamConn
	upMu   sync.Mutex
	closed bool

	inflight *inflightQueue

	draining  chan struct{}
	drainOnce sync.Once

	// sess is the connection's SASL state; nil when auth is none. rawSASL
	// is set after a SaslHandshake v0: the frames that follow are bare
	// SASL tokens until the login completes. authTimer closes a connection
	// that has not logged in within the authentication timeout. All three
	// belong to the reading goroutine.
	sess      *authn.Session
	rawSASL   bool
	authTimer *time.Timer
	// authz authorizes the requests of an authenticated client; it is
	// created with the first request after the login, by the reading
	// goroutine.
	authz *connAuthz
}

func newClientConn(s *Server, l *listener, nc net.Conn, node int32, kind string) *clientConn {
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	return &clientConn{
		s:        s,
		l:        l,
		nc:       nc,
		node:     node,
		kind:     kind,
		log:      s.log.With(zap.String("client", nc.RemoteAddr().String()), zap.Int32("node_id", node)),
		in:       connReader{src: nc},
		out:      connWriter{dst: nc},
		inflight: newInflightQueue(s.cfg.Limits.MaxInFlight),
		draining: make(chan struct{}),
	}
}

// serve runs the connection until the client or upstream goes away.
func (c *clientConn) serve() {
	m := c.s.metrics
	m.connectionsActive.WithLabelValues(c.kind).Inc()
	defer m.connectionsActive.WithLabelValues(c.kind).Dec()
	if pc := proxiedOf(c.nc); pc != nil && !c.proxyHeader(pc) {
		c.close()
		return
	}
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
	if a := c.s.auth; a != nil {
		c.sess = a.NewSession(c.l.cfg.Name, c.nc.RemoteAddr().String(), c.revoke)
		defer c.sess.Close()
		c.authTimer = time.AfterFunc(c.s.cfg.AuthTimeout, c.authTimeout)
		defer c.authTimer.Stop()
	}
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
	c.inflight.waitWriter()
	c.close()
}

// proxyHeader reads the PROXY protocol header of a connection on a
// listener that takes it, before anything else is read; false when the
// connection is refused or already over. A header that names the client
// makes its address the connection's, and the log names both.
func (c *clientConn) proxyHeader(pc *proxiedConn) bool {
	timeout := c.s.cfg.AuthTimeout
	if timeout <= 0 {
		timeout = defaultHeaderTimeout
	}
	err := pc.readHeader(timeout)
	if c.isDraining() {
		// Shut down while reading: the deadline that drains the
		// connection may have been cleared with the header's.
		return false
	}
	var he *headerError
	switch {
	case errors.As(err, &he):
		c.s.metrics.requestsRejected.WithLabelValues(he.reason).Inc()
		c.log.Info("refusing client connection: PROXY protocol", zap.String("reason", he.reason), zap.Error(err))
		return false
	case errors.Is(err, errPeerGone):
		c.log.Debug("client disconnected before sending anything")
		return false
	case err != nil:
		c.log.Info("closing client connection", zap.Error(err))
		return false
	}
	if pc.client != nil {
		c.log = c.s.log.With(zap.String("client", pc.client.String()), zap.String("proxy", pc.Peer().String()), zap.Int32("node_id", c.node))
	}
	return true
}

// maxPreAuthFrame bounds the frames of a connection that has not logged in
// yet, like the broker's sasl.server.max.receive.size: an anonymous client
// cannot make the proxy buffer a large frame.
const maxPreAuthFrame = 512 << 10

// readLoop reads, checks and forwards client requests until an error. A
// refused request (a *rejection) is counted here, by its reason.
func (c *clientConn) readLoop() error {
	// buf is the frame buffer, kept from one frame to the next while the
	// client is busy. A closing connection leaves its buffers to the
	// garbage collector rather than to the pools, so that a burst of
	// closes does not fill the pools with memory that nothing uses.
	var buf []byte
	for {
		p, err := c.readRequest(&buf)
		if err != nil {
			if rj := (*rejection)(nil); errors.As(err, &rj) {
				c.s.metrics.requestsRejected.WithLabelValues(rj.reason).Inc()
			}
			return err
		}
		if p == nil {
			continue // acks=0 produce: forwarded, no response expected
		}
		if c.inflight.full() {
			// About to wait for room: the requests the writer waits on
			// must have left.
			if err := c.flushUpstream(); err != nil {
				return err
			}
		}
		ok, start := c.inflight.push(*p)
		if !ok {
			return net.ErrClosed
		}
		if start {
			go c.writeLoop()
		}
		if p.closeAfter {
			return nil
		}
	}
}

// readRequest reads one frame into *buf's backing array and handles it.
func (c *clientConn) readRequest(buf *[]byte) (*pending, error) {
	maxReq := c.s.cfg.Limits.MaxRequestBytes
	if c.sess != nil && !c.sess.Authenticated() {
		maxReq = min(maxReq, maxPreAuthFrame)
	}
	f, err := c.nextFrame(maxReq, buf)
	if err != nil {
		if !errors.Is(err, ErrFrameTooLarge) {
			return nil, err
		}
		if c.sess != nil && !c.sess.Authenticated() {
			// Before a login, an oversized frame is a failed login: it is
			// counted against the address, audited and delayed.
			ctx, cancel := c.loginContext()
			c.sess.Refuse(ctx, authn.ReasonFrameTooLarge, err)
			cancel()
		}
		return nil, &rejection{reason: reasonFrameTooLarge, err: err}
	}
	c.s.metrics.clientBytesReceived.Add(float64(len(f.buf)))
	p, err := c.handleRequest(f)
	*buf = recycle(f.buf) // the frame has been forwarded or answered
	return p, err
}

// nextFrame reads the client's next frame, taking over *buf's backing
// array. When none of the frame has arrived yet, the connection is idle: it
// sends what it wrote upstream, gives its frame buffer and read buffer back
// to their pools, and waits for the frame's size prefix holding neither.
func (c *clientConn) nextFrame(maxSize int, buf *[]byte) (frame, error) {
	dst := *buf
	*buf = nil
	if c.in.buffered() == 0 {
		if err := c.flushUpstream(); err != nil {
			return frame{}, err
		}
		putBuffer(dst)
		dst = nil
	}
	if err := c.in.readHead(c.size[:]); err != nil {
		return frame{}, err
	}
	return readFrameBody(c.in.reader(), c.size, maxSize, dst)
}

// rejection is a request the proxy refuses, closing the connection.
type rejection struct {
	reason string // the requests_rejected_total label
	err    error
}

func (r *rejection) Error() string { return r.err.Error() }
func (r *rejection) Unwrap() error { return r.err }

func reject(reason, format string, args ...any) error {
	return &rejection{reason: reason, err: fmt.Errorf(format, args...)}
}

// handleRequest runs one request through the pipeline: gate, decode,
// authorize, then answer it locally or forward it. It returns the entry to
// queue for the response, nil when no response is expected, or an error
// that closes the connection.
func (c *clientConn) handleRequest(f frame) (*pending, error) {
	payload := f.payload()
	if c.rawSASL {
		return c.handleRawSASL(payload)
	}
	p, err := c.gate(payload)
	if err != nil || p.local != nil {
		return p, err
	}
	req, bodyAt, err := c.decode(p, payload)
	if err != nil {
		return nil, err
	}
	v, err := c.authorize(p.spec, req)
	if err != nil {
		return nil, err
	}
	switch v.Action() {
	case enforce.ActAnswer:
		p.local = appendResponseFrame(nil, p.correlationID, p.spec.flexible(p.version), v.Answer().AppendTo(nil))
		return p, nil
	case enforce.ActDrop:
		return nil, errors.New("acks=0 produce denied on every topic: closing, as a broker does")
	case enforce.ActForwardEdited:
		f = reencodeRequest(payload[:bodyAt], req)
	}
	if p.spec.local != nil {
		return c.answerLocally(p, req)
	}
	p.patch = v.Patch()
	if c.authz != nil {
		p.fetch = c.authz.client.TakeFetch()
	}
	return c.forward(p, req, f, v.CloseAfter())
}

// gate reads the request header and checks that the request may be
// handled at all: a known API, at a version the proxy reviewed, and, before
// a login or after the session expired, only ApiVersions and SASL. A
// client that asks for a newer ApiVersions than the proxy knows gets the
// KIP-511 answer in the returned entry.
func (c *clientConn) gate(payload []byte) (*pending, error) {
	key, version, corr, err := peekRequestHeader(payload)
	if err != nil {
		return nil, &rejection{reason: reasonMalformed, err: err}
	}
	spec := c.s.apis.lookup(key)
	if spec == nil {
		return nil, reject(reasonUnsupportedAPI, "unsupported api key %d (version %d): refused", key, version)
	}
	p := &pending{spec: spec, version: version, correlationID: corr, start: time.Now()}
	if c.sess != nil && !spec.preAuth {
		if !c.sess.Authenticated() {
			return nil, reject(reasonUnauthenticated, "%s request before SASL authentication: refused", spec.name)
		}
		if c.sess.Expired(p.start) {
			return nil, reject(reasonSessionExpired, "%s request after the SASL session expired without re-authentication: refused", spec.name)
		}
	}
	spec.requests.Inc()
	if version < 0 || version > spec.reviewed {
		if spec == c.s.apis.apiVersions {
			// KIP-511: answer in v0 so the client can retry lower.
			p.local = appendResponseFrame(nil, corr, false, c.s.apis.answerApiVersions(version, nil))
			return p, nil
		}
		return nil, reject(reasonUnsupportedVersion, "%s version %d is newer than the proxy supports (max %d): refused", spec.name, version, spec.reviewed)
	}
	return p, nil
}

// decode decodes the request's header and body, and returns the body's
// offset in the payload.
func (c *clientConn) decode(p *pending, payload []byte) (kmsg.Request, int, error) {
	hdr, err := parseRequestHeader(payload, p.spec.flexible(p.version))
	if err != nil {
		return nil, 0, &rejection{reason: reasonMalformed, err: err}
	}
	req := p.spec.newRequest()
	req.SetVersion(p.version)
	if err := req.ReadFrom(payload[hdr.BodyOffset:]); err != nil {
		return nil, 0, reject(reasonMalformed, "%w: %s v%d body: %v", errMalformed, p.spec.name, p.version, err)
	}
	return req, hdr.BodyOffset, nil
}

// authorize runs the request through its API's rule. Requests of
// connections without authentication (auth: none) and the pre-login APIs
// have no principal to check.
func (c *clientConn) authorize(spec *apiSpec, req kmsg.Request) (enforce.Verdict, error) {
	if c.sess == nil || spec.preAuth {
		return enforce.Forward(), nil
	}
	v := c.authorizer().enforce(spec, req)
	if !v.Valid() {
		return v, reject(reasonInternal, "%s: its authorization rule gave no verdict: refused", spec.name)
	}
	return v, nil
}

// answerLocally answers a request the proxy handles itself.
func (c *clientConn) answerLocally(p *pending, req kmsg.Request) (*pending, error) {
	body, closeAfter, err := p.spec.local(c, req)
	if err != nil {
		return nil, err
	}
	// ApiVersions responses always use header v0.
	flexHeader := p.spec.flexible(p.version) && p.spec != c.s.apis.apiVersions
	p.local = appendResponseFrame(nil, p.correlationID, flexHeader, body)
	p.closeAfter = closeAfter
	return p, nil
}

// forward sends the request's frame f upstream. closeAfter ends the
// connection once it is sent: an acks=0 produce, partly denied, whose
// errors no response can carry.
func (c *clientConn) forward(p *pending, req kmsg.Request, f frame, closeAfter bool) (*pending, error) {
	if err := c.ensureUpstream(); err != nil {
		return nil, err
	}
	if c.up.needsReauth(p.start) {
		if err := c.reauthUpstream(); err != nil {
			return nil, err
		}
	}
	if pr, ok := req.(*kmsg.ProduceRequest); ok && pr.Acks == 0 {
		p = nil // the broker sends no response
	}
	if err := c.send(f); err != nil {
		return nil, err
	}
	if closeAfter {
		if err := c.flushUpstream(); err != nil {
			return nil, err
		}
		return nil, errors.New("acks=0 produce partly denied: closing after forwarding the allowed part, as a broker does")
	}
	return p, nil
}

// authorizer returns the connection's authorizer, creating it on first
// use (after the login).
func (c *clientConn) authorizer() *connAuthz {
	if c.authz == nil {
		c.authz = newConnAuthz(c)
	}
	return c.authz
}

// reencodeRequest is the frame of an edited request: the original header
// (correlation id, client id, tags), then the request re-encoded. Record
// batches are copied as they are.
func reencodeRequest(header []byte, req kmsg.Request) frame {
	buf := make([]byte, 4, 4+len(header)+256)
	buf = append(buf, header...)
	buf = req.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	return frame{buf: buf}
}

// send writes a request frame to the upstream broker's buffer, so that
// pipelined requests leave in one write. The reading goroutine flushes it
// before it waits: for the client's next request (nextFrame), or for room
// in the in-flight queue.
func (c *clientConn) send(f frame) error {
	if _, err := c.up.out.Write(f.buf); err != nil {
		c.s.metrics.upstreamErrors.WithLabelValues(reasonWrite).Inc()
		return fmt.Errorf("upstream %s: write: %w", c.up.addr, err)
	}
	c.s.metrics.upstreamBytesSent.Add(float64(len(f.buf)))
	return nil
}

// flushUpstream sends what the reading goroutine wrote upstream.
func (c *clientConn) flushUpstream() error {
	if c.up == nil || c.up.out.buffered() == 0 {
		return nil
	}
	if err := c.up.out.flush(); err != nil {
		c.s.metrics.upstreamErrors.WithLabelValues(reasonWrite).Inc()
		return fmt.Errorf("upstream %s: write: %w", c.up.addr, err)
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
	c.s.metrics.upstreamOpened.Inc()
	return nil
}

// reauthUpstream renews the proxy's SASL session on this connection's
// upstream once every request sent on it has been answered.
func (c *clientConn) reauthUpstream() error {
	if err := c.flushUpstream(); err != nil { // what the writer waits on
		return err
	}
	if !c.inflight.waitIdle() {
		return net.ErrClosed
	}
	err := c.up.reauthenticate(context.Background())
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	c.s.metrics.upstreamReauths.WithLabelValues(outcome).Inc()
	return err
}

// writeLoop writes responses in request order until the queue is empty,
// and then ends: the next request starts another. When a write fails, or
// after the final answer of a connection that closes, it closes the
// connection.
func (c *clientConn) writeLoop() {
	idle, err := c.writeResponses()
	if idle {
		return
	}
	c.inflight.abort()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Info("response path failed", zap.Error(err))
	}
	// Unblock the reader if it waits on the client or upstream.
	c.close()
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

// revoke closes the connection because its credential was removed.
func (c *clientConn) revoke() {
	c.log.Info("closing connection: its credential was removed")
	c.close()
}

// authTimeout closes a connection that has not logged in in time.
func (c *clientConn) authTimeout() {
	if !c.sess.Authenticated() {
		c.log.Info("closing connection: no SASL login within the authentication timeout",
			zap.Duration("timeout", c.s.cfg.AuthTimeout))
		c.close()
	}
}

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
